/**
 * `npm run provision-temporal [-- --cli-path FILE] [-- --no-path]`
 *
 * Makes sure a Temporal CLI is available (CI runs this before the tests) and prints its path and
 * version. Exit code 1 with the reasons when none can be found or provisioned.
 *
 * --cli-path FILE  use this binary (default: TEMPORAL_CLI_PATH from the configuration)
 * --no-path        ignore `temporal` on PATH, i.e. always use/provision the pinned copy
 * --install-dir D  provision into D instead of <repo>/.temporal
 */
import { parseArgs } from 'node:util';
import { processEnvironment } from '../config';
import { resolveTemporalCli, temporalCliVersion, TemporalCliUnavailableError } from './cli';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'cli-path': { type: 'string' },
      'no-path': { type: 'boolean', default: false },
      'install-dir': { type: 'string' },
    },
    allowPositionals: false,
  });

  // Only two variables matter here, and the rest of the configuration may not exist yet (CI
  // provisions before anything is configured), so they are taken raw rather than validated.
  const env = processEnvironment();
  const searchPath = values['no-path'] ? undefined : env.PATH;

  try {
    const cli = await resolveTemporalCli({
      cliPath: values['cli-path'] ?? (env.TEMPORAL_CLI_PATH || undefined),
      searchPath,
      installDir: values['install-dir'],
      log: (msg) => console.log(`[provision-temporal] ${msg}`),
    });
    const version = await temporalCliVersion(cli.path);
    console.log(`[provision-temporal] Temporal CLI (${cli.source}): ${cli.path}`);
    console.log(`[provision-temporal] ${version}`);
    return 0;
  } catch (err) {
    if (err instanceof TemporalCliUnavailableError) {
      console.error(`[provision-temporal] ${err.message}`);
      return 1;
    }
    throw err;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('[provision-temporal] unexpected failure:', err);
    process.exitCode = 1;
  },
);
