/**
 * Which workflow code a worker runs: the prebuilt bundle only when running compiled and the build
 * left one next to the compiled code; the sources otherwise, with the reason in the log.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WORKFLOW_BUNDLE_FILE, workflowBundleOptions, workflowCodeSource } from '../../worker/workflow-bundle';

function withDist<T>(use: (dist: string) => T): T {
  const dist = mkdtempSync(path.join(tmpdir(), 'workflow-bundle-'));
  try {
    mkdirSync(path.join(dist, 'worker'));
    return use(dist);
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
}

test('running from the TypeScript sources, the worker bundles the sources even when a build left a bundle', () => {
  withDist((dist) => {
    writeFileSync(path.join(dist, WORKFLOW_BUNDLE_FILE), '// stale');
    const source = workflowCodeSource(path.join(dist, 'worker', 'workflow-bundle.ts'));
    assert.equal(source.kind, 'sources');
    assert.equal(source.kind === 'sources' && source.workflowsPath, workflowBundleOptions().workflowsPath);
  });
});

test('running compiled, the worker loads the bundle next to the compiled code', () => {
  withDist((dist) => {
    writeFileSync(path.join(dist, WORKFLOW_BUNDLE_FILE), '// bundle');
    assert.deepEqual(workflowCodeSource(path.join(dist, 'worker', 'workflow-bundle.js')), {
      kind: 'prebuilt',
      codePath: path.join(dist, WORKFLOW_BUNDLE_FILE),
    });
  });
});

test('running compiled without a bundle, the worker bundles and says why', () => {
  withDist((dist) => {
    const source = workflowCodeSource(path.join(dist, 'worker', 'workflow-bundle.js'));
    assert.equal(source.kind, 'sources');
    assert.match(source.kind === 'sources' ? source.why : '', /no prebuilt bundle at .*workflow-bundle\.js \(run npm run build\)/);
  });
});
