// Routing and handlers of the /api/v3 Livehunt endpoints. Everything here runs after
// authentication; failures are thrown as ApiError and become VT's error envelope.

import { randomInt } from 'node:crypto';
import { ApiError, forbidden } from './errors';
import type { Answer } from './faults';
import { fingerprint, matchesFilter, pageByOffset, pageRulesets, parseFilter, parseLimit, parseOrder } from './filter';
import { collection, emptyOk, json, parseRelationshipsParam, rulesetObject, rulesetPath } from './serialize';
import type { Caller, RulesetStore } from './store';
import type { UserDirectory } from './users';
import { parseCreateBody, parseEditorsBody, parseOwnerBody, parsePatchBody, type RulesValidator } from './validation';

export interface ApiContext {
  store: RulesetStore;
  validator: RulesValidator;
  users: UserDirectory;
  pageMax: number;
}

export interface ApiRequest {
  method: string;
  /** Path after /api/v3. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  caller: Caller & { hunting: boolean };
  /** Base URL for links, e.g. http://127.0.0.1:PORT/api/v3 (from the Host the client used). */
  base: string;
}

const notFoundPath = (path: string): ApiError => new ApiError(404, 'NotFoundError', `Resource "${path}" not found`);

function methodNotAllowed(method: string, path: string): ApiError {
  return new ApiError(405, 'MethodNotAllowedError', `Method ${method} is not allowed on ${path}`);
}

export function handleApi(ctx: ApiContext, req: ApiRequest): Answer {
  // A trailing slash names the same resource; split before decoding so %2F stays inside an id.
  const segments = req.path.replace(/\/+$/, '').split('/').slice(1).map(decodeSegment);
  const [root, collectionName, id, rel, relName, relId, ...rest] = segments;

  // GET /users/{id}: VT accepts the user id or the API key itself as {id}; only one's own user.
  if (root === 'users' && segments.length === 2) {
    if (req.method !== 'GET') throw methodNotAllowed(req.method, req.path);
    if (collectionName !== req.caller.user && ctx.users.userOf(collectionName) !== req.caller.user) {
      throw new ApiError(404, 'NotFoundError', 'User not found');
    }
    return json(200, {
      data: {
        type: 'user',
        id: req.caller.user,
        links: { self: `${req.base}/users/${encodeURIComponent(req.caller.user)}` },
        attributes: { privileges: { intelligence: { granted: req.caller.hunting } } },
      },
    });
  }

  const isRulesets = root === 'intelligence' && collectionName === 'hunting_rulesets';
  const isUserRulesets = root === 'users' && segments.length === 3 && segments[2] === 'hunting_rulesets';
  if (!isRulesets && !isUserRulesets) throw notFoundPath(req.path);
  // Livehunt is a separate subscription: a valid key without it is refused, not unknown.
  if (!req.caller.hunting) throw forbidden('This API key does not have the VT Hunting privilege required for Livehunt');

  if (isUserRulesets) {
    if (collectionName !== req.caller.user) throw forbidden(`You are not allowed to list hunting rulesets of user "${collectionName}"`);
    if (req.method !== 'GET') throw methodNotAllowed(req.method, req.path);
    return listRulesets(ctx, req);
  }

  if (id === undefined || id === '') {
    switch (req.method) {
      case 'GET':
        return listRulesets(ctx, req);
      case 'POST':
        return createRuleset(ctx, req);
      case 'DELETE':
        return deleteAllRulesets(ctx, req);
      default:
        throw methodNotAllowed(req.method, req.path);
    }
  }

  if (rel === undefined) {
    switch (req.method) {
      case 'GET':
        return json(200, { data: rulesetObject(ctx.store.find(id, req.caller), req.base, relationshipsOf(req)) });
      case 'PATCH':
        return patchRuleset(ctx, req, id);
      case 'DELETE':
        ctx.store.delete(id, req.caller);
        return emptyOk();
      default:
        throw methodNotAllowed(req.method, req.path);
    }
  }

  // VT's generic convention: `/{id}/{relationship}` answers the related objects in full,
  // `/{id}/relationships/{relationship}` only their descriptors. Both are read-only here.
  if (rel === 'editors' && relName === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed(req.method, req.path);
    return listEditors(ctx, req, id, 'objects');
  }
  if (rel === 'owner' && relName === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed(req.method, req.path);
    const r = ctx.store.find(id, req.caller);
    return json(200, {
      data: relatedObject({ type: 'user', id: r.owner }, req.base),
      links: { self: `${req.base}${rulesetPath(id)}/owner` },
    });
  }
  if (rel !== 'relationships' || rest.length > 0) throw notFoundPath(req.path);
  if (relName === 'editors' && relId === undefined) {
    if (req.method === 'GET') return listEditors(ctx, req, id, 'descriptors');
    if (req.method === 'POST') {
      ctx.store.find(id, req.caller);
      const editors = parseEditorsBody(req.body);
      ctx.store.addEditors(id, req.caller, editors);
      return emptyOk();
    }
    throw methodNotAllowed(req.method, req.path);
  }
  if (relName === 'editors' && relId !== undefined) {
    if (req.method === 'GET') {
      const r = ctx.store.find(id, req.caller);
      return json(200, { data: r.editors.some((e) => e.id === relId) });
    }
    if (req.method === 'DELETE') {
      ctx.store.removeEditor(id, req.caller, relId);
      return emptyOk();
    }
    throw methodNotAllowed(req.method, req.path);
  }
  if (relName === 'owner' && relId === undefined) {
    if (req.method === 'GET') {
      const r = ctx.store.find(id, req.caller);
      const self = `${req.base}${rulesetPath(id)}`;
      return json(200, {
        data: { type: 'user', id: r.owner },
        links: { self: `${self}/relationships/owner`, related: `${self}/owner` },
      });
    }
    if (req.method === 'POST') return transferOwner(ctx, req, id);
    throw methodNotAllowed(req.method, req.path);
  }
  throw notFoundPath(req.path);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const relationshipsOf = (req: ApiRequest): string[] => parseRelationshipsParam(req.query.get('relationships'));
const param = (req: ApiRequest, name: string): string | undefined => req.query.get(name) ?? undefined;

function listRulesets(ctx: ApiContext, req: ApiRequest): Answer {
  const filter = param(req, 'filter');
  const terms = parseFilter(filter);
  const order = parseOrder(param(req, 'order'));
  const limit = parseLimit(param(req, 'limit'), ctx.pageMax);
  const fp = fingerprint('rulesets', req.caller.user, filter ?? '', order.field, String(order.descending));
  const candidates = ctx.store.visibleTo(req.caller).filter((e) => matchesFilter(e.ruleset, terms));
  const page = pageRulesets(candidates, order, limit, param(req, 'cursor'), fp);
  const wanted = relationshipsOf(req);
  const data = page.items.map((e) => rulesetObject(e.ruleset, req.base, wanted));
  // VT's list links point at the per-user collection, whichever path was called.
  const self = `${req.base}/users/${encodeURIComponent(req.caller.user)}/hunting_rulesets`;
  return json(200, collection(data, self, req.query, limit, page.nextCursor));
}

function createRuleset(ctx: ApiContext, req: ApiRequest): Answer {
  const attrs = parseCreateBody(req.body);
  ctx.validator.validate(attrs.rules, attrs.match_object_type ?? 'file');
  const created = ctx.store.create(req.caller.user, attrs);
  return json(200, { data: rulesetObject(created, req.base) });
}

function patchRuleset(ctx: ApiContext, req: ApiRequest, id: string): Answer {
  // Visibility first: an invisible id is a 404 whatever the body says.
  const current = ctx.store.find(id, req.caller);
  const patch = parsePatchBody(req.body, id);
  // A new match type is checked against the rules the ruleset will then hold.
  if (patch.rules !== undefined || patch.match_object_type !== undefined) {
    ctx.validator.validate(patch.rules ?? current.rules, patch.match_object_type ?? current.match_object_type);
  }
  const updated = ctx.store.update(id, req.caller, patch);
  return json(200, { data: rulesetObject(updated, req.base) });
}

/**
 * Implemented only so that an accidental call is loud: it really deletes (as VT would) and it
 * is in the request log. VT runs it asynchronously and answers an operation object.
 */
function deleteAllRulesets(ctx: ApiContext, req: ApiRequest): Answer {
  ctx.store.deleteAllFor(req.caller);
  const operationId = String(randomInt(1, 2 ** 47));
  return json(200, {
    data: {
      type: 'operation',
      id: operationId,
      links: { self: `${req.base}/operations/${operationId}` },
      attributes: { status: 'queued' },
    },
  });
}

function listEditors(ctx: ApiContext, req: ApiRequest, id: string, shape: 'descriptors' | 'objects'): Answer {
  const r = ctx.store.find(id, req.caller);
  const limit = parseLimit(param(req, 'limit'), ctx.pageMax);
  const page = pageByOffset(r.editors, limit, param(req, 'cursor'), fingerprint('editors', id, shape));
  const data = page.items.map((e) => (shape === 'objects' ? relatedObject(e, req.base) : { type: e.type, id: e.id }));
  const self = `${req.base}${rulesetPath(id)}${shape === 'objects' ? '/editors' : '/relationships/editors'}`;
  return json(200, collection(data, self, req.query, limit, page.nextCursor));
}

/**
 * A user or group as a full VT object. The emulator knows no profile attributes of other
 * accounts, so `attributes` is empty rather than invented.
 */
function relatedObject(descriptor: { type: string; id: string }, base: string): Record<string, unknown> {
  const collectionName = descriptor.type === 'group' ? 'groups' : 'users';
  return {
    type: descriptor.type,
    id: descriptor.id,
    links: { self: `${base}/${collectionName}/${encodeURIComponent(descriptor.id)}` },
    attributes: {},
  };
}

/** The new owner must be a known user sharing a group with the current owner (when it has groups). */
function transferOwner(ctx: ApiContext, req: ApiRequest, id: string): Answer {
  if (ctx.store.find(id, req.caller).owner !== req.caller.user) {
    throw forbidden('Only the owner can transfer a hunting ruleset');
  }
  const newOwner = parseOwnerBody(req.body);
  if (!ctx.users.exists(newOwner)) throw new ApiError(404, 'NotFoundError', `User "${newOwner}" not found`);
  const ownerGroups = ctx.users.groupsOf(req.caller.user) ?? [];
  const targetGroups = ctx.users.groupsOf(newOwner) ?? [];
  if (ownerGroups.length > 0 && !ownerGroups.some((g) => targetGroups.includes(g))) {
    throw forbidden(`User "${newOwner}" does not belong to the group of this ruleset`);
  }
  ctx.store.transferOwner(id, req.caller, newOwner);
  return emptyOk();
}
