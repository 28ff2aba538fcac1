/**
 * Every file generated from config/settings.ts, as it should read now: what
 * `npm run generate:config` writes and what the catalog test compares with the files on disk.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connectorConfigSchema, connectorManifest } from './opencti-metadata';
import { withReadmeTables } from './readme';
import { configSample } from './sample';

export const GENERATE_COMMAND = 'npm run generate:config';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Paths relative to `root`, the repository. The README is read: only its tables are generated. */
export function generatedFiles(root: string): Array<{ file: string; content: string }> {
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return [
    { file: 'README.md', content: withReadmeTables(readFileSync(path.join(root, 'README.md'), 'utf8')) },
    { file: 'config.yml.sample', content: configSample() },
    { file: '__metadata__/connector_config_schema.json', content: json(connectorConfigSchema()) },
    { file: '__metadata__/connector_manifest.json', content: json(connectorManifest(version)) },
  ];
}
