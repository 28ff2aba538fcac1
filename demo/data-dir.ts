/**
 * Each demo run starts from an empty data folder: the emulators start empty too, so a dev server
 * database left by an earlier run would only show workflows of indicators that no longer exist.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';

/** Written into the folder so that only a folder the demo made is ever wiped (--data-dir may point anywhere). */
const MARKER = '.livehunt-demo';

export class DataDirError extends Error {}

/** Empties (or creates) the folder; returns true when a previous run's state was removed. */
export async function prepareDataDir(dir: string): Promise<boolean> {
  let wiped = false;
  if (existsSync(dir)) {
    const entries = await fs.readdir(dir);
    if (entries.length > 0) {
      if (!entries.includes(MARKER)) {
        throw new DataDirError(`${dir} is not empty and was not created by the demo; remove it or pass another --data-dir`);
      }
      await fs.rm(dir, { recursive: true, force: true });
      wiped = true;
    }
  }
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, MARKER), 'State of `npm run demo`; wiped at the start of every demo run.\n');
  // The connector would otherwise also read ./config.yml: the demo must not pick up a real deployment's settings.
  await fs.writeFile(path.join(dir, 'empty-config.yml'), '# The demo configures the connector through environment variables only.\n');
  return wiped;
}
