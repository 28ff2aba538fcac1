/** The emulator's public contract (re-exported by index.ts). */
import type { IndicatorSpec } from './indicators';
import type { StreamRequestRecord } from './stream';

export interface OpenCtiEmulatorOptions {
  port?: number;
  host?: string;
  /** The connector's Bearer token; default 'opencti-test-token'. */
  token?: string;
  /** A platform administrator's token (may delete connectors); default 'opencti-admin-token'. */
  adminToken?: string;
  /** Id of the one StreamCollection that exists; default 'live-yara'. */
  streamId?: string;
  /** Heartbeat period per connection; default 5000 ms like the platform. */
  heartbeatMs?: number;
  /** Default true: `init-dependencies` marking frames, once per connection, before the first object that references them. */
  dependencies?: boolean;
  /** Default false: collection filter "YARA indicator AND detection=true" whose matching changes become create/delete frames, as the platform translates them. */
  filterDetection?: boolean;
}

export interface ConnectorSummary {
  id: string;
  name: string;
  type: string;
  scope: string[];
  lastSeen?: number;
  pings: number;
  /** The connector_info of the last ping (buffering, queue_messages_size...). */
  info?: Record<string, unknown>;
}

export interface OpenCtiEmulator {
  readonly url: string;
  readonly streamId: string;
  readonly token: string;
  readonly adminToken: string;
  createIndicator(spec: IndicatorSpec): { internalId: string; eventId: string };
  updateIndicator(internalId: string, change: Partial<Omit<IndicatorSpec, 'internalId'>>): string;
  deleteIndicator(internalId: string): string;
  mergeIndicators(targetInternalId: string, sourceInternalIds: string[]): string;
  createOther(type: 'malware' | 'identity' | 'indicator-stix', name: string): string;
  appendRaw(event: string, data: string): string;
  indicator(internalId: string): unknown | undefined;
  lastEventId(): string | undefined;
  dropConnections(): void;
  setStreamLive(live: boolean): void;
  setHeartbeats(on: boolean): void;
  setToken(token: string): void;
  connections(): number;
  streamRequests(): StreamRequestRecord[];
  connectorState(connectorId: string): string | null | undefined;
  connectors(): ConnectorSummary[];
  resetConnectorState(connectorId: string): void;
  close(): Promise<void>;
}
