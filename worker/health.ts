/**
 * When a worker is ready (`/readyz`): its state is RUNNING (it polls its task queue) and the
 * Temporal frontend answers its connection's health check.
 */
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { MetricsServer } from '../common/metrics-server';

export function registerWorkerReadiness(server: MetricsServer | undefined, worker: Worker, connection: NativeConnection): void {
  if (!server) return;
  server.readiness('worker', () => (worker.getState() === 'RUNNING' ? undefined : `worker is ${worker.getState().toLowerCase()}`));
  server.readiness('temporal', async () => {
    await connection.healthService.check({});
    return undefined;
  });
}
