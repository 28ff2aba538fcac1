/**
 * A real Temporal dev server for tests (never a mock), started once per test file.
 */
import { after, before } from 'node:test';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { processEnvironment } from '../../config';
import { resolveTemporalCli } from '../../temporal/cli';
import { startDevServer, type DevServer } from '../../temporal/dev-server';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

export async function startTestTemporal(options: { dbFile?: string } = {}): Promise<DevServer> {
  const env = processEnvironment();
  const cli = await resolveTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH || undefined, searchPath: env.PATH ?? '' });
  return startDevServer({
    cliPath: cli.path,
    uiPort: false,
    dbFile: options.dbFile,
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, 'Keyword' as const])),
    dynamicConfig: { 'frontend.enableUpdateWorkflowExecution': true },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test process: in-process workers reuse it across restarts. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never,
  });
  return bundle;
}

/**
 * One dev server for the whole test file, started before its first test and stopped after the
 * last. For files whose own hooks need no particular order with it.
 */
export function useTestTemporal(): () => DevServer {
  let server: DevServer | undefined;
  before(async () => {
    server = await startTestTemporal();
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the test Temporal server is not started (use it inside a test or hook)');
    return server;
  };
}
