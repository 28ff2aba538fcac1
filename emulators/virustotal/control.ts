// /_emulator/ control surface: the public emulator API over HTTP, for users in another
// process (benchmarks, a person running the demo with curl). Not VirusTotal's protocol, so no
// API key, no faults, no latency and no request log.
//
//   GET    /_emulator/health                 {"ok": true}
//   GET    /_emulator/rulesets               StoredRuleset[] (all owners)
//   POST   /_emulator/rulesets               seed one: {owner, name, rules, ...StoredRuleset fields}
//   GET    /_emulator/requests               RecordedRequest[]
//   DELETE /_emulator/requests
//   POST   /_emulator/faults                 FaultRule with `path` as a string prefix
//   DELETE /_emulator/faults
//   POST   /_emulator/latency                {"ms": N}
//   POST   /_emulator/rate-limit             {"rps": N | null}
//   POST   /_emulator/invalid-rule-pattern   {"pattern": "regex source" | null, "flags"?: "i"}
//   POST   /_emulator/reset

import { z } from 'zod';
import { ApiError } from './errors';
import type { Answer } from './faults';
import { json } from './serialize';
import type { FaultRule, SeedRuleset, VirusTotalEmulator } from './types';

const faultSchema = z.object({
  method: z.string().optional(),
  // Over HTTP a path is always a prefix; RegExp matching is for in-process callers.
  path: z.string().optional(),
  status: z.union([
    z.literal(429),
    z.literal(500),
    z.literal(502),
    z.literal(503),
    z.literal(504),
    z.literal(400),
    z.literal(401),
    z.literal(403),
  ]),
  code: z.string().optional(),
  message: z.string().optional(),
  times: z.number().int().min(1).optional(),
  retryAfterSeconds: z.number().min(0).optional(),
  afterCommit: z.boolean().optional(),
  nonJsonBody: z.boolean().optional(),
});

const seedSchema = z.object({
  id: z.string().min(1).optional(),
  owner: z.string().min(1),
  name: z.string(),
  rules: z.string(),
  enabled: z.boolean().optional(),
  limit: z.number().int().optional(),
  notification_emails: z.array(z.string()).optional(),
  match_object_type: z.string().optional(),
  tags: z.array(z.string()).optional(),
  creation_date: z.number().int().optional(),
  modification_date: z.number().int().optional(),
  editors: z.array(z.object({ type: z.enum(['user', 'group']), id: z.string().min(1) })).optional(),
});

const latencySchema = z.object({ ms: z.number().min(0) });
const rateSchema = z.object({ rps: z.number().positive().nullable() });
const patternSchema = z.object({ pattern: z.string().nullable(), flags: z.string().optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new ApiError(400, 'BadRequestError', `Invalid control request: ${where}${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

const ok = (): Answer => json(200, { ok: true });

export function createControlHandler(emulator: VirusTotalEmulator): (method: string, path: string, body: unknown) => Answer {
  return (method, path, body) => {
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /health':
        return ok();
      case 'GET /rulesets':
        return json(200, emulator.rulesets());
      case 'POST /rulesets':
        return json(200, emulator.seedRuleset(parse(seedSchema, body) as SeedRuleset));
      case 'GET /requests':
        return json(200, emulator.requests());
      case 'DELETE /requests':
        emulator.clearRequests();
        return ok();
      case 'POST /faults':
        emulator.injectFault(parse(faultSchema, body) as FaultRule);
        return ok();
      case 'DELETE /faults':
        emulator.clearFaults();
        return ok();
      case 'POST /latency':
        emulator.setLatency(parse(latencySchema, body).ms);
        return ok();
      case 'POST /rate-limit':
        emulator.setMaxRequestsPerSecond(parse(rateSchema, body).rps ?? undefined);
        return ok();
      case 'POST /invalid-rule-pattern': {
        const { pattern, flags } = parse(patternSchema, body);
        emulator.setInvalidRulePattern(pattern === null ? undefined : new RegExp(pattern, flags));
        return ok();
      }
      case 'POST /reset':
        emulator.reset();
        return ok();
      default:
        throw new ApiError(404, 'NotFoundError', `No emulator control endpoint ${route}`);
    }
  };
}
