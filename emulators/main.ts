/**
 * `npm run emulators [-- --opencti-port N --virustotal-port N --latency-ms N]`
 *
 * Both emulators on fixed ports, for running the connector (`npm start`, or worker + starter) by
 * hand against something that speaks OpenCTI and VirusTotal. Fixed ports, so that a config.yml
 * written once keeps working; everything it needs is printed, then it runs until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { startOpenCtiEmulator, type OpenCtiEmulator } from './opencti';
import { startVirusTotalEmulator, type VirusTotalEmulator } from './virustotal';

const DEFAULT_OPENCTI_PORT = 4000;
const DEFAULT_VIRUSTOTAL_PORT = 4001;
/** The one key the VirusTotal emulator knows by default (see emulators/virustotal/users.ts). */
const VIRUSTOTAL_API_KEY = 'vt-test-key';

const USAGE = 'usage: npm run emulators [-- --opencti-port N] [--virustotal-port N] [--latency-ms N]';

interface Options {
  openCtiPort: number;
  virusTotalPort: number;
  latencyMs: number;
}

function integerFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'opencti-port': { type: 'string' },
      'virustotal-port': { type: 'string' },
      'latency-ms': { type: 'string' },
    },
    allowPositionals: false,
  });
  return {
    openCtiPort: integerFlag('opencti-port', values['opencti-port'], DEFAULT_OPENCTI_PORT, 1, 65_535),
    virusTotalPort: integerFlag('virustotal-port', values['virustotal-port'], DEFAULT_VIRUSTOTAL_PORT, 1, 65_535),
    latencyMs: integerFlag('latency-ms', values['latency-ms'], 0, 0, 600_000),
  };
}

/** A port conflict is the likely failure (a demo or another copy still running): say which flag fixes it. */
async function listening<T>(what: string, flag: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} for the ${what} emulator is already in use (is \`npm run demo\` or another \`npm run emulators\` running?); pick another with --${flag}`,
        { cause: error },
      );
    }
    throw error;
  }
}

function describe(opencti: OpenCtiEmulator, vt: VirusTotalEmulator, latencyMs: number): string {
  const vtRoot = vt.url.replace(/\/api\/v3$/, '');
  return [
    'Emulators running (Ctrl-C to stop).',
    '',
    `OpenCTI     ${opencti.url}`,
    `  OPENCTI_URL=${opencti.url}`,
    `  OPENCTI_TOKEN=${opencti.token}`,
    `  CONNECTOR_LIVE_STREAM_ID=${opencti.streamId}`,
    `  live stream:  ${opencti.url}/stream/${opencti.streamId}`,
    `  control:      ${opencti.url}/_emulator/  (no token)`,
    `    POST   /_emulator/indicators         {"name", "pattern", "detection"?, ...}  create a YARA indicator`,
    `    POST   /_emulator/indicators/bulk    [spec, ...]`,
    `    GET    /_emulator/indicators/{id}    the indicator as STIX`,
    `    PATCH  /_emulator/indicators/{id}    {"pattern"?, "detection"?, "name"?, "revoked"?, ...}`,
    `    DELETE /_emulator/indicators/{id}`,
    `    POST   /_emulator/others             {"type": "malware"|"identity"|"indicator-stix", "name"}`,
    `    GET    /_emulator/connectors | /_emulator/status | /_emulator/stream-requests`,
    `    POST   /_emulator/connectors/{id}/reset | /_emulator/drop | /_emulator/live {"live"}`,
    '',
    `VirusTotal  ${vt.url}${latencyMs > 0 ? `  (${latencyMs} ms added to every answer)` : ''}`,
    `  VIRUSTOTAL_LIVEHUNT_API_URL=${vt.url}`,
    `  VIRUSTOTAL_LIVEHUNT_TOKEN=${VIRUSTOTAL_API_KEY}   (the emulator's built-in key, user "connector")`,
    `  control:      ${vtRoot}/_emulator/  (no key)`,
    `    GET    /_emulator/rulesets           everything stored, all owners`,
    `    GET    /_emulator/requests           every API request answered (DELETE to clear)`,
    `    POST   /_emulator/faults             {"status", "method"?, "path"?, "times"?, ...}  (DELETE to clear)`,
    `    POST   /_emulator/latency {"ms"} | /_emulator/rate-limit {"rps"} | /_emulator/reset`,
    '',
    'Example:',
    `  curl -s -X POST ${opencti.url}/_emulator/indicators -H 'content-type: application/json' \\`,
    `    -d '{"name": "Demo_Rule", "pattern": "rule Demo_Rule { condition: true }", "detection": true}'`,
    `  curl -s ${vtRoot}/_emulator/rulesets`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }

  const opencti = await listening('OpenCTI', 'opencti-port', options.openCtiPort, () =>
    startOpenCtiEmulator({ port: options.openCtiPort }),
  );
  let vt: VirusTotalEmulator;
  try {
    vt = await listening('VirusTotal', 'virustotal-port', options.virusTotalPort, () =>
      startVirusTotalEmulator({ port: options.virusTotalPort, latencyMs: options.latencyMs }),
    );
  } catch (error) {
    await opencti.close();
    throw error;
  }
  process.stdout.write(describe(opencti, vt, options.latencyMs));

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now": do not wait for open streams to finish closing.
    if (closing) process.exit(130);
    closing = true;
    process.stdout.write(`\n${signal}: closing the emulators\n`);
    Promise.all([opencti.close(), vt.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while closing: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulators failed: ${(error as Error).message}\n`);
  process.exit(1);
});
