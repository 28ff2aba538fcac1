/**
 * The second half of `npm run build` (after tsc): bundles workflows/ once and writes the bundle
 * into the build output, where a compiled worker finds it (see workflow-bundle.ts).
 *
 *   tsx worker/build-workflow-bundle.ts [--out-dir DIR]   (default: dist)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_FILE, workflowBundleOptions } from './workflow-bundle';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' } }, allowPositionals: false });
  const outDir = path.resolve(values['out-dir']!);
  const started = Date.now();
  // The bundler's own progress lines are noise in a build log; its errors are not.
  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions(),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } as never,
  });
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, WORKFLOW_BUNDLE_FILE);
  writeFileSync(file, code);
  console.log(
    `[build] workflow bundle: ${path.relative(process.cwd(), file)} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`,
  );
}

main().catch((error: unknown) => {
  console.error(`[build] workflow bundle failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
