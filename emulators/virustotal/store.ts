// In-memory hunting rulesets: ids, timestamps, owners, editors and who may see or change what.
// HTTP shapes live in api.ts; this module only knows the domain rules.

import { randomInt } from 'node:crypto';
import { forbidden, notFound } from './errors';
import type { EditorDescriptor, SeedRuleset, StoredRuleset } from './types';

/** The authenticated user a request acts for. */
export interface Caller {
  user: string;
  groups: readonly string[];
}

/** Writable attributes, as accepted by create (all) and PATCH (any subset). */
export interface RulesetAttributes {
  name: string;
  rules: string;
  enabled: boolean;
  limit: number;
  notification_emails: string[];
  match_object_type: string;
  tags: string[];
}

/** A stored ruleset plus its creation sequence, which breaks ties so every order is stable. */
export interface Entry {
  seq: number;
  ruleset: StoredRuleset;
}

export const DEFAULTS = {
  enabled: true,
  limit: 100,
  match_object_type: 'file',
} as const;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

const copy = (r: StoredRuleset): StoredRuleset => structuredClone(r);

export class RulesetStore {
  private readonly entries = new Map<string, Entry>();
  private seq = 0;

  clear(): void {
    this.entries.clear();
  }

  /** Every ruleset of every owner, in creation order, as copies. */
  all(): StoredRuleset[] {
    return this.ordered(Array.from(this.entries.values())).map((e) => copy(e.ruleset));
  }

  /** Rulesets the caller owns or that are shared with the caller or one of their groups. */
  visibleTo(caller: Caller): Entry[] {
    return this.ordered(Array.from(this.entries.values()).filter((e) => canSee(e.ruleset, caller)));
  }

  /** A ruleset the caller may see; anything else is indistinguishable from a missing id. */
  find(id: string, caller: Caller): StoredRuleset {
    const entry = this.entries.get(id);
    if (!entry || !canSee(entry.ruleset, caller)) throw notFound(id);
    return entry.ruleset;
  }

  create(owner: string, attrs: Partial<RulesetAttributes> & Pick<RulesetAttributes, 'name' | 'rules'>): StoredRuleset {
    const now = nowSeconds();
    const ruleset: StoredRuleset = {
      id: this.newId(),
      owner,
      name: attrs.name,
      rules: attrs.rules,
      enabled: attrs.enabled ?? DEFAULTS.enabled,
      limit: attrs.limit ?? DEFAULTS.limit,
      notification_emails: [...(attrs.notification_emails ?? [])],
      match_object_type: attrs.match_object_type ?? DEFAULTS.match_object_type,
      tags: [...(attrs.tags ?? [])],
      creation_date: now,
      modification_date: now,
      editors: [],
    };
    this.entries.set(ruleset.id, { seq: this.seq++, ruleset });
    return ruleset;
  }

  /** A pre-existing ruleset (adoption tests); nothing is validated, ids may be chosen. */
  seed(seed: SeedRuleset): StoredRuleset {
    if (seed.id !== undefined && this.entries.has(seed.id)) throw new Error(`ruleset id ${seed.id} already exists`);
    const now = nowSeconds();
    const ruleset: StoredRuleset = {
      id: seed.id ?? this.newId(),
      owner: seed.owner,
      name: seed.name,
      rules: seed.rules,
      enabled: seed.enabled ?? DEFAULTS.enabled,
      limit: seed.limit ?? DEFAULTS.limit,
      notification_emails: [...(seed.notification_emails ?? [])],
      match_object_type: seed.match_object_type ?? DEFAULTS.match_object_type,
      tags: [...(seed.tags ?? [])],
      creation_date: seed.creation_date ?? now,
      modification_date: seed.modification_date ?? seed.creation_date ?? now,
      editors: dedupeEditors(seed.editors ?? []),
    };
    this.entries.set(ruleset.id, { seq: this.seq++, ruleset });
    return copy(ruleset);
  }

  /** PATCH: owner and editors may change attributes; every PATCH counts as a modification. */
  update(id: string, caller: Caller, patch: Partial<RulesetAttributes>): StoredRuleset {
    const r = this.find(id, caller);
    if (patch.name !== undefined) r.name = patch.name;
    if (patch.rules !== undefined) r.rules = patch.rules;
    if (patch.enabled !== undefined) r.enabled = patch.enabled;
    if (patch.limit !== undefined) r.limit = patch.limit;
    if (patch.notification_emails !== undefined) r.notification_emails = [...patch.notification_emails];
    if (patch.match_object_type !== undefined) r.match_object_type = patch.match_object_type;
    if (patch.tags !== undefined) r.tags = [...patch.tags];
    r.modification_date = nowSeconds();
    return r;
  }

  /** Only the owner deletes; an editor gets 403 (it can see the ruleset, so 404 would lie). */
  delete(id: string, caller: Caller): void {
    const r = this.find(id, caller);
    if (r.owner !== caller.user) throw forbidden('Only the owner can delete a hunting ruleset');
    this.entries.delete(id);
  }

  /**
   * DELETE /intelligence/hunting_rulesets: deletes everything the caller owns and removes the
   * caller from the editors of rulesets shared with them, as VirusTotal documents.
   */
  deleteAllFor(caller: Caller): { deleted: number; unshared: number } {
    let deleted = 0;
    let unshared = 0;
    for (const [id, { ruleset }] of this.entries) {
      if (ruleset.owner === caller.user) {
        this.entries.delete(id);
        deleted++;
      } else {
        const before = ruleset.editors.length;
        ruleset.editors = ruleset.editors.filter((e) => !(e.type === 'user' && e.id === caller.user));
        if (ruleset.editors.length !== before) unshared++;
      }
    }
    return { deleted, unshared };
  }

  /** Sharing is the owner's decision; adding an existing editor again changes nothing. */
  addEditors(id: string, caller: Caller, editors: EditorDescriptor[]): StoredRuleset {
    const r = this.find(id, caller);
    if (r.owner !== caller.user) throw forbidden('Only the owner can add editors to a hunting ruleset');
    r.editors = dedupeEditors([...r.editors, ...editors]);
    return r;
  }

  /**
   * Revokes every editor entry with this id (the path carries no type). The owner may revoke
   * anyone; an editor may only remove itself, which is what "delete all" does for shared rulesets.
   */
  removeEditor(id: string, caller: Caller, editorId: string): StoredRuleset {
    const r = this.find(id, caller);
    if (r.owner !== caller.user && editorId !== caller.user) {
      throw forbidden('Only the owner can remove editors from a hunting ruleset');
    }
    r.editors = r.editors.filter((e) => e.id !== editorId);
    return r;
  }

  /** The previous owner keeps no access unless it is also an editor. */
  transferOwner(id: string, caller: Caller, newOwner: string): StoredRuleset {
    const r = this.find(id, caller);
    if (r.owner !== caller.user) throw forbidden('Only the owner can transfer a hunting ruleset');
    r.owner = newOwner;
    r.editors = r.editors.filter((e) => !(e.type === 'user' && e.id === newOwner));
    return r;
  }

  private ordered(entries: Entry[]): Entry[] {
    return entries.sort((a, b) => a.ruleset.creation_date - b.ruleset.creation_date || a.seq - b.seq);
  }

  // Opaque digit strings like VT's examples, of varying length so clients cannot assume one.
  private newId(): string {
    for (;;) {
      const length = randomInt(16, 20);
      let id = String(randomInt(1, 10));
      while (id.length < length) id += String(randomInt(0, 10));
      if (!this.entries.has(id)) return id;
    }
  }
}

export function canSee(r: StoredRuleset, caller: Caller): boolean {
  return r.owner === caller.user || r.editors.some((e) => isEditor(e, caller));
}

function isEditor(e: EditorDescriptor, caller: Caller): boolean {
  return e.type === 'user' ? e.id === caller.user : caller.groups.includes(e.id);
}

function dedupeEditors(editors: EditorDescriptor[]): EditorDescriptor[] {
  const seen = new Set<string>();
  const out: EditorDescriptor[] = [];
  for (const e of editors) {
    const key = `${e.type}\u0000${e.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ type: e.type, id: e.id });
  }
  return out;
}
