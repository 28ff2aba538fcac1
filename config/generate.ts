/**
 * `npm run generate:config`: writes the README's configuration tables, config.yml.sample and
 * the OpenCTI catalog metadata from the declarations in config/settings.ts.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles } from './render/files';

const root = path.resolve(__dirname, '..');
for (const { file, content } of generatedFiles(root)) {
  const target = path.join(root, file);
  if (existsSync(target) && readFileSync(target, 'utf8') === content) continue;
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, content);
  process.stdout.write(`wrote ${file}\n`);
}
