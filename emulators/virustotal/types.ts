// Public types of the VirusTotal Livehunt emulator. Kept apart from the implementation so
// that tests, the demo and benchmarks can import them without pulling in the server.

export interface EmulatedUser {
  apiKey: string;
  user: string;
  /** Whether the key has the VT Hunting privilege; Livehunt endpoints answer 403 without it. Default true. */
  hunting?: boolean;
  /** VT groups the user belongs to; a ruleset shared with one of them is visible to the user. */
  groups?: string[];
}

export interface VirusTotalEmulatorOptions {
  /** 0/undefined = ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: one user { apiKey: 'vt-test-key', user: 'connector' }. */
  users?: EmulatedUser[];
  /** Added to every API answer (default 0). */
  latencyMs?: number;
  /** If set, answers 429 QuotaExceededError beyond this rate (sliding 1 s window, per key). */
  maxRequestsPerSecond?: number;
  /** Maximum list page size (default 40); default page size is 10. */
  pageMax?: number;
  /** Maximum size of a ruleset's rules text in UTF-8 bytes (default 1 MiB). */
  maxRulesetBytes?: number;
}

export type EditorType = 'user' | 'group';

export interface EditorDescriptor {
  type: EditorType;
  id: string;
}

export interface StoredRuleset {
  id: string;
  owner: string;
  name: string;
  rules: string;
  enabled: boolean;
  limit: number;
  notification_emails: string[];
  match_object_type: string;
  tags: string[];
  /** Integer seconds since epoch, like VirusTotal. */
  creation_date: number;
  /** Integer seconds since epoch, like VirusTotal. */
  modification_date: number;
  editors: EditorDescriptor[];
}

export interface RecordedRequest {
  /** Arrival time, milliseconds since epoch. */
  at: number;
  method: string;
  /** Path after /api/v3, e.g. /intelligence/hunting_rulesets/123. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** Status actually answered (after faults and rate limiting). */
  status: number;
  /** The user the API key resolved to; the key itself is never recorded. */
  apiKeyUser?: string;
}

export type FaultStatus = 429 | 500 | 502 | 503 | 504 | 400 | 401 | 403;

export interface FaultRule {
  /** HTTP method to match (case-insensitive); any method when absent. */
  method?: string;
  /** Prefix match (string) or RegExp test on the path after /api/v3; any path when absent. */
  path?: RegExp | string;
  status: FaultStatus;
  /** Error code in the envelope; a per-status default when absent (429 ⇒ QuotaExceededError, ...). */
  code?: string;
  message?: string;
  /** How many matching requests the fault applies to (default 1). Infinity keeps it forever. */
  times?: number;
  /** Adds a Retry-After header with this many seconds. */
  retryAfterSeconds?: number;
  /** Apply the request for real, then answer with the fault (e.g. commit a create then 504). */
  afterCommit?: boolean;
  /** Answer an HTML body instead of the JSON envelope (e.g. a 502 from a gateway). */
  nonJsonBody?: boolean;
}

export type SeedRuleset = Partial<StoredRuleset> & { owner: string; name: string; rules: string };

export interface VirusTotalEmulator {
  /** Base URL including /api/v3, e.g. http://127.0.0.1:PORT/api/v3. */
  readonly url: string;
  readonly port: number;
  /** Everything stored, all owners (copies). */
  rulesets(): StoredRuleset[];
  /** Every /api/v3 request answered so far, in answer order (copies). */
  requests(): RecordedRequest[];
  clearRequests(): void;
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  setLatency(ms: number): void;
  setMaxRequestsPerSecond(rps: number | undefined): void;
  /** A pre-existing ruleset, possibly owned by another user and shared with ours via editors. */
  seedRuleset(r: SeedRuleset): StoredRuleset;
  /** Rules text matching this pattern is rejected as a compile error. */
  setInvalidRulePattern(re: RegExp | undefined): void;
  /** Drops rulesets, requests and faults; latency, rate limit and invalid pattern go back to the start options. */
  reset(): void;
  close(): Promise<void>;
}
