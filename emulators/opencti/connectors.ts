/**
 * Connector registrations and their persisted state (the `registerConnector` and `pingConnector` mutations). The state is an opaque
 * JSON string owned by the connector; the only thing the platform does to it on its own is
 * the UI "reset state", answered through the next ping.
 */

export const CONNECTOR_TYPES = [
  'EXTERNAL_IMPORT',
  'INTERNAL_IMPORT_FILE',
  'INTERNAL_ENRICHMENT',
  'INTERNAL_ANALYSIS',
  'INTERNAL_EXPORT_FILE',
  'STREAM',
] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

export interface RegisterInput {
  id: string;
  name: string;
  type: ConnectorType;
  scope?: string[] | null | undefined;
  auto?: boolean | null | undefined;
  auto_update?: boolean | null | undefined;
  only_contextual?: boolean | null | undefined;
  playbook_compatible?: boolean | null | undefined;
  enrichment_resolution?: string | null | undefined;
  listen_callback_uri?: string | null | undefined;
  version?: string | null | undefined;
  slug?: string | null | undefined;
  xtm_one_intent?: string | null | undefined;
}

export interface ConnectorRecord {
  id: string;
  name: string;
  type: ConnectorType;
  scope: string[];
  auto: boolean;
  autoUpdate: boolean;
  enrichmentResolution: string | null;
  onlyContextual: boolean;
  playbookCompatible: boolean;
  state: string | null;
  /** Set by the UI reset; consumed (and the sent state discarded) by the next ping. */
  resetPending: boolean;
  info: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  lastSeen: number | undefined;
  pings: number;
}

export class ConnectorRegistry {
  private readonly records = new Map<string, ConnectorRecord>();

  /** Upsert by id; the stored state survives re-registration. */
  register(input: RegisterInput): ConnectorRecord {
    const now = new Date().toISOString();
    const existing = this.records.get(input.id);
    const record: ConnectorRecord = {
      id: input.id,
      name: input.name,
      type: input.type,
      scope: input.scope ?? [],
      auto: input.auto ?? false,
      autoUpdate: input.auto_update ?? false,
      enrichmentResolution: input.enrichment_resolution ?? null,
      onlyContextual: input.only_contextual ?? false,
      playbookCompatible: input.playbook_compatible ?? false,
      state: existing?.state ?? null,
      resetPending: existing?.resetPending ?? false,
      info: existing?.info ?? null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      lastSeen: existing?.lastSeen,
      pings: existing?.pings ?? 0,
    };
    this.records.set(input.id, record);
    return record;
  }

  /** Undefined for an unknown id. `state === undefined` (argument omitted) keeps the stored state. */
  ping(id: string, state: string | null | undefined, info: Record<string, unknown> | null | undefined): ConnectorRecord | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    record.lastSeen = Date.now();
    record.pings += 1;
    if (record.resetPending) {
      // The platform clears the flag and ignores the state sent with this ping, so the
      // answer carries the reset (empty) state and the connector adopts it.
      record.resetPending = false;
      return record;
    }
    if (state !== undefined) record.state = state;
    if (info) record.info = info;
    record.updatedAt = new Date().toISOString();
    return record;
  }

  reset(id: string): boolean {
    const record = this.records.get(id);
    if (!record) return false;
    record.state = '';
    record.resetPending = true;
    return true;
  }

  delete(id: string): boolean {
    return this.records.delete(id);
  }

  get(id: string): ConnectorRecord | undefined {
    return this.records.get(id);
  }

  all(): ConnectorRecord[] {
    return [...this.records.values()];
  }
}
