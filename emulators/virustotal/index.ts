// Public entry point of the VirusTotal Livehunt emulator: starts an HTTP server speaking the
// VirusTotal API v3 hunting_ruleset protocol, plus a /_emulator/ control surface.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createControlHandler } from './control';
import { FaultInjector, RateLimiter } from './faults';
import { API_PREFIX, createRequestListener, type ServerState } from './server';
import { RulesetStore } from './store';
import type { FaultRule, SeedRuleset, StoredRuleset, VirusTotalEmulator, VirusTotalEmulatorOptions } from './types';
import { DEFAULT_USERS, UserDirectory } from './users';
import { RulesValidator } from './validation';

export type {
  EditorDescriptor,
  EditorType,
  EmulatedUser,
  FaultRule,
  FaultStatus,
  RecordedRequest,
  SeedRuleset,
  StoredRuleset,
  VirusTotalEmulator,
  VirusTotalEmulatorOptions,
} from './types';
export { checkYara, ruleNames } from './yara';

const DEFAULT_PAGE_MAX = 40;
const DEFAULT_MAX_RULESET_BYTES = 1024 * 1024;

export async function startVirusTotalEmulator(opts: VirusTotalEmulatorOptions = {}): Promise<VirusTotalEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const initialLatency = opts.latencyMs ?? 0;
  const pageMax = opts.pageMax ?? DEFAULT_PAGE_MAX;
  if (!(Number.isInteger(pageMax) && pageMax >= 1)) throw new Error(`pageMax must be a positive integer, got ${pageMax}`);
  const validator = new RulesValidator(opts.maxRulesetBytes ?? DEFAULT_MAX_RULESET_BYTES);

  const state: ServerState = {
    store: new RulesetStore(),
    validator,
    users: new UserDirectory(opts.users ?? DEFAULT_USERS),
    pageMax,
    faults: new FaultInjector(),
    limiter: new RateLimiter(opts.maxRequestsPerSecond),
    log: [],
    latencyMs: initialLatency,
  };
  const timers = new Set<NodeJS.Timeout>();
  let port = 0;

  const emulator: VirusTotalEmulator = {
    get url() {
      return `http://${urlHost(host)}:${port}${API_PREFIX}`;
    },
    get port() {
      return port;
    },
    rulesets: (): StoredRuleset[] => state.store.all(),
    requests: () => structuredClone(state.log),
    clearRequests: () => {
      state.log.length = 0;
    },
    injectFault: (rule: FaultRule) => state.faults.add(rule),
    clearFaults: () => state.faults.clear(),
    setLatency: (ms: number) => {
      if (!(ms >= 0)) throw new Error(`latency must be >= 0 ms, got ${ms}`);
      state.latencyMs = ms;
    },
    setMaxRequestsPerSecond: (rps: number | undefined) => state.limiter.set(rps),
    seedRuleset: (r: SeedRuleset) => state.store.seed(r),
    setInvalidRulePattern: (re: RegExp | undefined) => validator.setInvalidPattern(re),
    // Back to how the emulator started, so tests sharing one instance cannot leak settings.
    reset: () => {
      state.store.clear();
      state.log.length = 0;
      state.faults.clear();
      state.latencyMs = initialLatency;
      state.limiter.set(opts.maxRequestsPerSecond);
      validator.setInvalidPattern(undefined);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };

  const server = createServer(createRequestListener(state, createControlHandler(emulator), timers, () => `${urlHost(host)}:${port}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return emulator;
}

/** IPv6 literals need brackets in a URL. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
