/**
 * OpenCTI's connector catalog metadata, in the layout of the OpenCTI-Platform/connectors
 * repository (`<type>/<connector>/__metadata__/`): the manifest the catalog lists, and the JSON
 * Schema of the environment variables its connector manager would set.
 */
import { SETTINGS, type Setting } from '../settings';
import { plainText } from './text';

export const SLUG = 'virustotal-livehunt-temporal';

/** What the catalog says about the connector; `version` is package.json's. */
export function connectorManifest(version: string): Record<string, unknown> {
  return {
    title: 'VirusTotal Livehunt (Temporal)',
    slug: SLUG,
    description:
      'VirusTotal Livehunt runs YARA rules against the files, URLs, domains and IP addresses VirusTotal sees and notifies you of each match.\n\n' +
      'This stream connector keeps one VirusTotal Livehunt ruleset per YARA indicator marked for detection in OpenCTI, with your notification e-mails and shared editors, and removes it when the indicator stops being a detection (detection false, revoked, deleted, merged away). ' +
      'Each indicator is a Temporal workflow, so its changes are applied in stream order and exactly once in effect through crashes, restarts, VirusTotal outages and quota errors, and an operator can see and steer each indicator in the Temporal Web UI. ' +
      'It is a drop-in replacement for the Python VirusTotal Livehunt stream connector: same configuration variables and same connector state in OpenCTI.',
    short_description:
      'Keeps one VirusTotal Livehunt ruleset per OpenCTI YARA detection indicator, in stream order and exactly once in effect, orchestrated by Temporal.',
    logo: null,
    use_cases: ['Detection & Response Enablement'],
    solution_categories: ['Malware Analysis & Sandbox'],
    license_type: 'Open Source',
    contact: null,
    verified: false,
    last_verified_date: null,
    playbook_supported: false,
    // Nothing is written to OpenCTI, so no confidence level applies.
    max_confidence_level: null,
    support_version: '>= 6.8',
    subscription_link: 'https://www.virustotal.com',
    source_code: null,
    // Two processes (worker and starter) and a Temporal server: more than one container the
    // connector manager could run.
    manager_supported: false,
    container_version: version,
    // No published image: docker-compose.yml builds it from this repository's Dockerfile.
    container_image: null,
    container_type: 'STREAM',
  };
}

function property(declared: Setting): Record<string, unknown> {
  const { type, items, minimum, maximum, exclusiveMinimum, format } = declared.json;
  return {
    description: plainText(declared.description),
    ...(declared.default !== undefined ? { default: declared.default } : {}),
    type,
    ...(items ? { items } : {}),
    ...(declared.json.enum ? { enum: declared.json.enum } : {}),
    ...(minimum !== undefined ? { minimum } : {}),
    ...(maximum !== undefined ? { maximum } : {}),
    ...(exclusiveMinimum !== undefined ? { exclusiveMinimum } : {}),
    ...(declared.secret ? { format: 'password', writeOnly: true } : format ? { format } : {}),
  };
}

export function connectorConfigSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://www.filigran.io/connectors/${SLUG}_config.schema.json`,
    type: 'object',
    properties: Object.fromEntries(SETTINGS.map((declared) => [declared.env, property(declared)])),
    required: SETTINGS.filter((declared) => declared.mandatory).map((declared) => declared.env),
    additionalProperties: true,
  };
}
