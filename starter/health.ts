/**
 * When a starter is ready (`/readyz`): it reads the live stream (or paused it on purpose, for
 * back-pressure) and the Temporal frontend answers its client connection's health check.
 */
import type { Client } from '@temporalio/client';
import type { MetricsServer } from '../common/metrics-server';
import type { Starter } from './run';

export function registerStarterReadiness(server: MetricsServer | undefined, starter: Starter, client: Client): void {
  if (!server) return;
  server.readiness('stream', () => starter.notReading());
  server.readiness('temporal', async () => {
    await client.workflowService.getSystemInfo({});
    return undefined;
  });
}
