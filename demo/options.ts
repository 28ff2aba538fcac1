/**
 * The demo's command line. Every port can be moved so that a test (or a second demo) can run
 * next to a demo that holds the defaults.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

export const REPO_ROOT = path.resolve(__dirname, '..');

export interface DemoOptions {
  /** Print the summary, then shut down and exit instead of waiting for Ctrl-C (tests, CI). */
  exitAfterSummary: boolean;
  openCtiPort: number;
  virusTotalPort: number;
  temporalPort: number;
  uiPort: number;
  /** Wiped at start; holds the dev server's SQLite file and the connector's log. */
  dataDir: string;
}

export const USAGE = [
  'usage: npm run demo [-- options]',
  '  --exit-after-summary   shut down after printing the summary instead of waiting for Ctrl-C',
  '  --opencti-port N       OpenCTI emulator port (default 4000)',
  '  --virustotal-port N    VirusTotal emulator port (default 4001)',
  '  --temporal-port N      embedded Temporal dev server gRPC port (default 7233)',
  '  --ui-port N            Temporal Web UI port (default 8233)',
  '  --data-dir DIR         state of this demo run, wiped at start (default data/demo)',
].join('\n');

function port(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65_535)
    throw new Error(`--${flag} must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
  return value;
}

export function parseDemoOptions(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'exit-after-summary': { type: 'boolean', default: false },
      'opencti-port': { type: 'string' },
      'virustotal-port': { type: 'string' },
      'temporal-port': { type: 'string' },
      'ui-port': { type: 'string' },
      'data-dir': { type: 'string' },
    },
    allowPositionals: false,
  });
  const options: DemoOptions = {
    exitAfterSummary: values['exit-after-summary'] ?? false,
    openCtiPort: port('opencti-port', values['opencti-port'], 4000),
    virusTotalPort: port('virustotal-port', values['virustotal-port'], 4001),
    temporalPort: port('temporal-port', values['temporal-port'], 7233),
    uiPort: port('ui-port', values['ui-port'], 8233),
    dataDir: values['data-dir'] !== undefined ? path.resolve(values['data-dir']) : path.join(REPO_ROOT, 'data', 'demo'),
  };
  const ports = [options.openCtiPort, options.virusTotalPort, options.temporalPort, options.uiPort];
  if (new Set(ports).size !== ports.length) throw new Error(`the four ports must differ, got ${ports.join(', ')}`);
  return options;
}
