/**
 * The connector's configuration, validated once at start-up, one schema per section a role
 * validates (config/load.ts). Keys are the environment variable names so that every validation
 * error names the variable the operator has to fix. The variables are declared in
 * config/settings.ts; these schemas are derived from that list.
 */
import { z } from 'zod';
import { shapeOf } from './settings';

export { isPlaceholder } from './validators';

export const openCtiSchema = z.object(shapeOf('opencti'));
export const connectorSchema = z.object(shapeOf('connector'));
export const virusTotalSchema = z.object(shapeOf('virustotal'));
export const temporalSchema = z.object(shapeOf('temporal'));
/**
 * How the connector reaches HTTP services (common/http.ts). The lowercase spellings
 * (https_proxy...) are read too, and win, as in curl and Python's requests (config/load.ts).
 */
export const networkSchema = z.object(shapeOf('network'));
export const commonSchema = z.object(shapeOf('common'));

/** Scopes a user of this connector or of the Python one has reason to set (compared case-insensitively). */
const EXPECTED_SCOPES = new Set(['yara', 'virustotal', 'indicator']);

/** A warning for a CONNECTOR_SCOPE nobody would set on purpose, else undefined. */
export function unexpectedScope(scope: string): string | undefined {
  const entries = scope
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '');
  if (entries.length > 0 && entries.every((entry) => EXPECTED_SCOPES.has(entry))) return undefined;
  return `CONNECTOR_SCOPE is "${scope}"; this connector reads YARA indicators whatever the scope says (usually yara, Yara or Virustotal), which OpenCTI only displays`;
}
