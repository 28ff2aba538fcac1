/**
 * Where the worker's workflow code comes from.
 *
 * `npm run build` bundles workflows/ once (worker/build-workflow-bundle.ts) and writes the result
 * next to the compiled code, as dist/workflow-bundle.js. A worker started from the compiled code
 * (`node dist/worker/main.js`, the image) loads that file: no webpack at start-up, and every
 * replica runs byte-identical workflow code. A worker started from the TypeScript sources
 * (`npm run worker`, `npm start` through tsx) always bundles workflows/ itself, so a bundle left in
 * dist/ by an earlier build can never stand in for sources edited since.
 *
 * The build wipes dist/ and then writes the compiled files and the bundle in one command, so the
 * two always come from the same sources; a compiled worker without a bundle (tsc run alone)
 * bundles its own compiled workflows/ and says so.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BundleOptions } from '@temporalio/worker';

/** The bundle's file name, under the build output (dist/). */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';

/** The options both the build and a self-bundling worker use, so both produce the same code. */
export function workflowBundleOptions(): Pick<BundleOptions, 'workflowsPath'> {
  return { workflowsPath: require.resolve('../workflows') };
}

export type WorkflowCodeSource = { kind: 'prebuilt'; codePath: string } | { kind: 'sources'; workflowsPath: string; why: string };

/**
 * The prebuilt bundle when this module runs compiled (from dist/) and the bundle is there;
 * otherwise the workflow sources to bundle at start-up, with the reason.
 */
export function workflowCodeSource(moduleFile: string = __filename): WorkflowCodeSource {
  const { workflowsPath } = workflowBundleOptions();
  if (!moduleFile.endsWith('.js')) return { kind: 'sources', workflowsPath, why: 'running from the TypeScript sources' };
  const codePath = path.resolve(path.dirname(moduleFile), '..', WORKFLOW_BUNDLE_FILE);
  if (!existsSync(codePath)) return { kind: 'sources', workflowsPath, why: `no prebuilt bundle at ${codePath} (run npm run build)` };
  return { kind: 'prebuilt', codePath };
}
