/**
 * Stub Livehunt activities for workflow unit tests: plain functions implementing the activity
 * interface the workflow proxies (LivehuntActivities), over a tiny in-memory picture of the
 * account's rulesets so each answer is the one VirusTotal would give. Every call is recorded, and
 * a test can script failures: a rule VirusTotal rejects (the real non-retryable InvalidRule
 * failure the activities raise) or any error for the next calls of one activity.
 *
 * One worker serves a whole test file (starting one per test costs more than the test): its
 * activities are routed to the stub of the workflow that called them.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EnsuredRuleset, LivehuntActivities, LivehuntSettings, VerifyOutcome } from '../../activities/livehunt';
import { INVALID_RULE } from '../../domain/failures';
import { sameContent, type RulesetContent } from '../../domain/ruleset';

export type ActivityName = keyof LivehuntActivities;

export interface RecordedCall {
  name: ActivityName;
  input: unknown;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

export class StubLivehunt {
  readonly calls: RecordedCall[] = [];
  /** What the worker's configuration says; a test may change it between events. */
  settings: LivehuntSettings = {
    notificationEmails: ['soc@example.org'],
    updateMode: 'recreate',
    adoptExisting: false,
    verifyIntervalMs: DAY_MS,
  };
  /** The rulesets the account holds, by id. Tests edit or delete them "by hand". */
  readonly rulesets = new Map<string, RulesetContent>();
  /** Rulesets the previous (Python) connector made; adoption takes them by exact name and rules. */
  readonly legacy = new Map<string, RulesetContent>();
  private nextId = 1;
  private rejectedRules?: RegExp;
  private readonly failures = new Map<ActivityName, Error[]>();
  private readonly gates = new Map<ActivityName, Promise<void>>();

  /** Rules text matching `pattern` is refused as VirusTotal refuses a rule that does not compile. */
  rejectRules(pattern: RegExp | undefined): void {
    this.rejectedRules = pattern;
  }

  /** The next calls of `name` throw these errors, one per call, before doing anything. */
  failNext(name: ActivityName, ...errors: Error[]): void {
    this.failures.set(name, [...(this.failures.get(name) ?? []), ...errors]);
  }

  /** Calls of `name` wait until the returned function is called (to queue events behind one). */
  hold(name: ActivityName): () => void {
    let release!: () => void;
    this.gates.set(
      name,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    return () => {
      this.gates.delete(name);
      release();
    };
  }

  callsOf<N extends ActivityName>(name: N): Array<Parameters<LivehuntActivities[N]>[0]> {
    return this.calls.filter((call) => call.name === name).map((call) => call.input as Parameters<LivehuntActivities[N]>[0]);
  }

  /** Names of the VirusTotal steps, in order (the settings read and the compiler's check are not). */
  steps(): ActivityName[] {
    return this.calls.map((call) => call.name).filter((name) => name !== 'livehuntSettings' && name !== 'checkRules');
  }

  /** A ruleset the previous connector made, as adoption would find it. */
  seedLegacy(content: Omit<RulesetContent, 'notificationEmails'>): string {
    const id = `legacy-${this.nextId++}`;
    this.legacy.set(id, { ...content, notificationEmails: [] });
    this.rulesets.set(id, { ...content, notificationEmails: [] });
    return id;
  }

  private async enter(name: ActivityName, input: unknown): Promise<void> {
    this.calls.push({ name, input });
    await this.gates.get(name);
    const failure = this.failures.get(name)?.shift();
    if (failure) throw failure;
  }

  private compile(rules: string): void {
    if (this.rejectedRules?.test(rules)) {
      throw ApplicationFailure.create({ message: `compile error in rules: ${rules}`, type: INVALID_RULE, nonRetryable: true });
    }
  }

  /** The object handed to the Worker as its activities. */
  activities(): LivehuntActivities {
    return {
      checkRules: async (input) => {
        await this.enter('checkRules', input);
        this.compile(input.content.rules);
      },
      livehuntSettings: async () => {
        await this.enter('livehuntSettings', undefined);
        return structuredClone(this.settings);
      },
      ensureRuleset: async (input): Promise<EnsuredRuleset> => {
        await this.enter('ensureRuleset', input);
        if (input.adoptExisting) {
          for (const [id, legacy] of this.legacy) {
            if (legacy.name !== input.content.name || legacy.rules !== input.content.rules) continue;
            this.legacy.delete(id);
            this.rulesets.set(id, input.content);
            return { rulesetId: id, outcome: 'adopted', content: input.content };
          }
        }
        this.compile(input.content.rules);
        const id = `ruleset-${this.nextId++}`;
        this.rulesets.set(id, input.content);
        return { rulesetId: id, outcome: 'created', content: input.content };
      },
      releaseLegacyRuleset: async (input) => {
        await this.enter('releaseLegacyRuleset', input);
        for (const [id, legacy] of this.legacy) {
          if (legacy.name !== input.name || legacy.rules !== input.rules) continue;
          this.legacy.delete(id);
          this.rulesets.delete(id);
          return 'deleted';
        }
        return 'none';
      },
      updateRuleset: async (input) => {
        await this.enter('updateRuleset', input);
        if (!this.rulesets.has(input.rulesetId)) return 'missing';
        this.compile(input.content.rules);
        this.rulesets.set(input.rulesetId, input.content);
        return 'updated';
      },
      deleteRuleset: async (input) => {
        await this.enter('deleteRuleset', input);
        return this.rulesets.delete(input.rulesetId) ? 'deleted' : 'absent';
      },
      verifyRuleset: async (input): Promise<VerifyOutcome> => {
        await this.enter('verifyRuleset', input);
        const remote = this.rulesets.get(input.rulesetId);
        if (!remote) return { status: 'missing' };
        if (sameContent(remote, input.content)) return { status: 'in-place' };
        this.rulesets.set(input.rulesetId, input.content);
        return { status: 'repaired' };
      },
    };
  }
}

/** Activities that hand each call to the stub registered for the calling workflow's id. */
export function routedActivities(stubFor: (workflowId: string) => StubLivehunt | undefined): LivehuntActivities {
  const route = <N extends ActivityName>(name: N) =>
    ((...args: Parameters<LivehuntActivities[N]>) => {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
      const stub = stubFor(workflowId);
      if (!stub) throw ApplicationFailure.nonRetryable(`no stub activities registered for ${workflowId}`);
      return (stub.activities()[name] as (...a: typeof args) => ReturnType<LivehuntActivities[N]>)(...args);
    }) as LivehuntActivities[N];
  return {
    checkRules: route('checkRules'),
    livehuntSettings: route('livehuntSettings'),
    ensureRuleset: route('ensureRuleset'),
    releaseLegacyRuleset: route('releaseLegacyRuleset'),
    updateRuleset: route('updateRuleset'),
    deleteRuleset: route('deleteRuleset'),
    verifyRuleset: route('verifyRuleset'),
  };
}
