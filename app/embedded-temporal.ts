/**
 * The Temporal server `npm start` and the demo use when TEMPORAL_ADDRESS is unset: a dev server
 * whose state lives in a SQLite file under the data folder, so a restart resumes where it stopped.
 */
import path from 'node:path';
import type { TemporalSettings } from '../config/load';
import type { Logger } from '../common/logger';
import { resolveTemporalCli } from '../temporal/cli';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export async function startEmbeddedTemporal(settings: TemporalSettings, log: Logger): Promise<DevServer> {
  const cli = await resolveTemporalCli({ cliPath: settings.cliPath, searchPath: settings.searchPath, log: (message) => log.info(message) });
  const dbFile = path.join(settings.dataDir, 'temporal.db');
  log.info('starting an embedded Temporal dev server', { cli: cli.path, source: cli.source, dbFile });
  return startDevServer({
    cliPath: cli.path,
    dbFile,
    port: settings.devServerPort,
    uiPort: settings.devServerUiPort,
    namespace: settings.namespace,
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, 'Keyword' as const])),
    logFile: path.join(settings.dataDir, 'temporal-server.log'),
    log: (message) => log.info(message),
  });
}
