// VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY: off by default, a boolean from the environment or config.yml,
// and a clear error naming the variable otherwise.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../config/load';

const worker = {
  VIRUSTOTAL_LIVEHUNT_TOKEN: 'secret-vt-key',
  VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: '[]',
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
};
const load = (env: Record<string, string>, configFile: string | false = false) =>
  loadConfig('worker', { env: { ...worker, ...env }, configFile });

test('new files only is off by default and read as a boolean', () => {
  assert.equal(load({}).virusTotal.newFilesOnly, false);
  assert.equal(load({ VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY: 'true' }).virusTotal.newFilesOnly, true);
  assert.equal(load({ VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY: 'False' }).virusTotal.newFilesOnly, false);
});

test('config.yml virustotal_livehunt.new_files_only maps to it', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'nfo-')), 'config.yml');
  writeFileSync(file, 'virustotal_livehunt:\n  new_files_only: true\n');
  assert.equal(load({}, file).virusTotal.newFilesOnly, true);
});

test('anything else is refused, naming the variable', () => {
  assert.throws(
    () => load({ VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY: 'sometimes' }),
    (error: unknown) =>
      error instanceof ConfigError && error.problems.some((p) => /VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY.*true or false/.test(p)),
  );
});
