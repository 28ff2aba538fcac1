/**
 * The connector's configuration for the demo, as environment variables only: what an operator
 * would put in config.yml, pointed at the emulators.
 */
import path from 'node:path';
import type { DemoOptions } from './options';

/** Fixed, so that the connector registered in OpenCTI (and its saved stream position) is recognisably the demo's. */
export const DEMO_CONNECTOR_ID = '7d3c5a2e-4b1f-4c6e-9a0d-de0000000001';
/** The VirusTotal emulator's usual key (as `npm run emulators` prints it); not a real VirusTotal key. */
export const DEMO_VIRUSTOTAL_KEY = 'vt-test-key';
export const DEMO_VIRUSTOTAL_USER = 'connector';
export const DEMO_NOTIFICATION_EMAILS = ['soc@example.org', 'cti@example.org'];
export const DEMO_SHARED_OWNERS = ['analyst1', 'group:soc'];

/** What Node and the Temporal CLI lookup need from the user's environment; nothing else leaks in (no TEMPORAL_ADDRESS). */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'TEMPORAL_CLI_PATH'];

export function connectorEnvironment(
  parent: Record<string, string | undefined>,
  options: DemoOptions,
  services: { openCtiUrl: string; openCtiToken: string; streamId: string; virusTotalUrl: string },
): Record<string, string> {
  const inherited = Object.fromEntries(INHERITED.flatMap((name) => (parent[name] ? [[name, parent[name]]] : [])));
  return {
    ...inherited,
    CONNECTOR_CONFIG_FILE: path.join(options.dataDir, 'empty-config.yml'),
    CONNECTOR_DATA_DIR: options.dataDir,
    OPENCTI_URL: services.openCtiUrl,
    OPENCTI_TOKEN: services.openCtiToken,
    CONNECTOR_ID: DEMO_CONNECTOR_ID,
    CONNECTOR_NAME: 'VirusTotal LiveHunts (demo)',
    CONNECTOR_LIVE_STREAM_ID: services.streamId,
    VIRUSTOTAL_LIVEHUNT_TOKEN: DEMO_VIRUSTOTAL_KEY,
    VIRUSTOTAL_LIVEHUNT_API_URL: services.virusTotalUrl,
    VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: DEMO_NOTIFICATION_EMAILS.join(','),
    VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: JSON.stringify(DEMO_SHARED_OWNERS),
    TEMPORAL_DEV_SERVER_PORT: String(options.temporalPort),
    TEMPORAL_DEV_SERVER_UI_PORT: String(options.uiPort),
  };
}
