/**
 * Diagnostic only: the connector's workflow bundle built once, in a child process (webpack's
 * memory must not count against this harness), and written to a file for variant-worker.ts.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './roles';

export function buildWorkflowBundle(file: string): string {
  const script = [
    "const { bundleWorkflowCode } = require('@temporalio/worker');",
    "const { writeFileSync } = require('node:fs');",
    `bundleWorkflowCode({ workflowsPath: require.resolve(${JSON.stringify(path.join(REPO_ROOT, 'workflows'))}), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } })`,
    `  .then((bundle) => writeFileSync(${JSON.stringify(file)}, bundle.code));`,
  ].join('\n');
  execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return file;
}
