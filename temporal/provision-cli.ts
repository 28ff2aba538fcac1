/**
 * `npm run provision-temporal [-- --cli-path FILE] [-- --no-path]`
 *
 * Makes sure a Temporal CLI is available (CI runs this before the tests) and prints its path and
 * version. Exit code 1 with the reasons when none can be found or provisioned.
 *
 * --cli-path FILE  use this binary (same meaning as TEMPORAL_CLI_PATH in the configuration)
 * --no-path        ignore `temporal` on PATH, i.e. always use/provision the pinned copy
 * --install-dir D  provision into D instead of <repo>/.temporal
 */
import { parseArgs } from 'node:util';
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

  // This tiny entry point is the one place in temporal/ that reads the environment: it runs
  // before (and without) the configuration module, and the PATH lookup needs the real PATH.
  // TEMPORAL_CLI_PATH is deliberately not read here: pass --cli-path instead.
  const searchPath = values['no-path'] ? undefined : process.env.PATH;

  try {
    const cli = await resolveTemporalCli({
      cliPath: values['cli-path'],
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
