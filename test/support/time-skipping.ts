/**
 * Temporal's time-skipping test server for workflow unit tests: a real server whose clock jumps
 * ahead whenever a test sleeps through `env.sleep()` (or waits for a result), so a 24 h timer
 * fires in milliseconds. The binary is the pinned copy provisioned into .temporal (see
 * temporal/test-server.ts); nothing is downloaded while tests run.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { processEnvironment } from '../../config';
import { resolveTestServer } from '../../temporal/test-server';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

export async function startTimeSkippingTemporal(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const path = await resolveTestServer({ searchPath: processEnvironment().PATH ?? '', log: (msg) => console.log(msg) });
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  // The workflow publishes custom search attributes and the server refuses workflow tasks that set
  // unknown ones. The worker's own registration lists them first, which this server does not
  // implement, so they are added directly.
  await env.nativeConnection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]]),
    ),
  });
  return env;
}

/**
 * The worker's INFO lines and the core's warning that this server does not advertise
 * heartbeat-details support would bury the test output.
 * Warnings from the workflow itself still show. Once per process, before anything uses the SDK.
 */
let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  runtimeInstalled = true;
}
