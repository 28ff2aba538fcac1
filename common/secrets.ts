/**
 * The configured values that must never appear in a log line, whatever message carries them:
 * the logger masks each of them (see common/logger.ts).
 */
import type { ConnectorConfig } from '../config/load';

/** Temporal variables whose values are credentials, as the SDK's environment configuration names them. */
const TEMPORAL_SECRETS = ['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA'];

export function configuredSecrets(config: Partial<Pick<ConnectorConfig, 'opencti' | 'virusTotal' | 'temporal'>>): string[] {
  const values = [config.opencti?.token, config.virusTotal?.apiKey, ...TEMPORAL_SECRETS.map((name) => config.temporal?.clientEnv[name])];
  return values.filter((value): value is string => typeof value === 'string' && value !== '');
}
