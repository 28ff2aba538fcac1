/**
 * Connections to Temporal, configured the way the SDK's own environment configuration reads
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_* (handed in from the
 * configuration module rather than read from process.env here).
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import type { TemporalSettings } from '../config/load';

function connectConfig(settings: TemporalSettings, address: string) {
  const { connectionOptions, namespace } = loadClientConnectConfig({
    overrideEnvVars: { ...settings.clientEnv, TEMPORAL_ADDRESS: address },
  });
  return { connectionOptions, namespace: namespace ?? settings.namespace };
}

function requireAddress(settings: TemporalSettings, address?: string): string {
  const resolved = address ?? settings.address;
  if (!resolved)
    throw new Error('TEMPORAL_ADDRESS is not set: point it at a Temporal server (npm start runs an embedded one when it is unset)');
  return resolved;
}

export async function connectClient(settings: TemporalSettings, address?: string): Promise<Client> {
  const { connectionOptions, namespace } = connectConfig(settings, requireAddress(settings, address));
  // grpc-js would send this connection through the https_proxy / http_proxy / grpc_proxy of the
  // environment (lowercase spellings only), while the worker's native connection ignores them:
  // set for OpenCTI and VirusTotal, they must not reroute Temporal, and both sides stay alike.
  const connection = await Connection.connect({
    ...connectionOptions,
    channelArgs: { 'grpc.enable_http_proxy': 0 },
  });
  return new Client({ connection, namespace });
}

export async function connectWorker(
  settings: TemporalSettings,
  address?: string,
): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = connectConfig(settings, requireAddress(settings, address));
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
