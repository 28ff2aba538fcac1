// Failure injection and the per-key rate limiter: the ways VirusTotal (or the network in front
// of it) says "not now", which a connector must survive without losing or duplicating rulesets.

import { STATUS_CODES } from 'node:http';
import { defaultFaultCode, defaultFaultMessage, errorBody } from './errors';
import type { FaultRule } from './types';

const FAULT_STATUSES = new Set([429, 500, 502, 503, 504, 400, 401, 403]);

/** What the server writes back; also used for ordinary answers. */
export interface Answer {
  status: number;
  /** Serialized body; undefined for an empty body. */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

interface ArmedFault {
  rule: FaultRule;
  remaining: number;
}

export class FaultInjector {
  private armed: ArmedFault[] = [];

  add(rule: FaultRule): void {
    if (!FAULT_STATUSES.has(rule.status)) throw new Error(`unsupported fault status ${rule.status}`);
    const times = rule.times ?? 1;
    if (!(times >= 1)) throw new Error(`fault times must be at least 1, got ${times}`);
    // Copy, and copy the RegExp without g/y so test() carries no lastIndex between requests.
    const path = rule.path instanceof RegExp ? new RegExp(rule.path.source, rule.path.flags.replace(/[gy]/g, '')) : rule.path;
    this.armed.push({ rule: { ...rule, path }, remaining: times });
  }

  clear(): void {
    this.armed = [];
  }

  /** The first armed fault matching the request, consuming one of its `times`. */
  take(method: string, path: string): FaultRule | undefined {
    const hit = this.armed.find((f) => matches(f.rule, method, path));
    if (!hit) return undefined;
    hit.remaining--;
    if (hit.remaining <= 0) this.armed = this.armed.filter((f) => f !== hit);
    return hit.rule;
  }
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.startsWith(rule.path) : rule.path.test(path);
}

export function faultAnswer(rule: FaultRule): Answer {
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) headers['retry-after'] = String(rule.retryAfterSeconds);
  if (rule.nonJsonBody) {
    // What a load balancer in front of the API answers: HTML, not VT's envelope.
    const reason = STATUS_CODES[rule.status] ?? 'Error';
    return {
      status: rule.status,
      contentType: 'text/html; charset=UTF-8',
      headers,
      body: `<html><head><title>${rule.status} ${reason}</title></head><body><h1>${rule.status} ${reason}</h1><p>${rule.message ?? 'The server encountered a temporary error.'}</p></body></html>`,
    };
  }
  return {
    status: rule.status,
    contentType: 'application/json; charset=utf-8',
    headers,
    body: errorBody(rule.code ?? defaultFaultCode(rule.status), rule.message ?? defaultFaultMessage(rule.status)),
  };
}

/**
 * Sliding one-second window per API key. Only admitted requests count, so a client that backs
 * off gets through again as soon as the window has room (a rejected retry does not extend it).
 */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(private rps: number | undefined) {
    this.set(rps);
  }

  set(rps: number | undefined): void {
    if (rps !== undefined && !(rps > 0)) throw new Error(`requests per second must be positive, got ${rps}`);
    this.rps = rps;
    this.windows.clear();
  }

  clear(): void {
    this.windows.clear();
  }

  admit(key: string, now: number): boolean {
    if (this.rps === undefined) return true;
    const recent = (this.windows.get(key) ?? []).filter((t) => t > now - 1000);
    const admitted = recent.length < this.rps;
    if (admitted) recent.push(now);
    this.windows.set(key, recent);
    return admitted;
  }
}
