/**
 * From an indicator's pattern to what is sent to VirusTotal: the ruleset's match type, the rules
 * text (restricted to new files when configured), and the compiler's verdict. Runs before any
 * request, so a rule VirusTotal would refuse costs none.
 */
import {
  MATCH_OBJECT_TYPES,
  describeDiagnostic,
  type CompileVerdict,
  type MatchObjectType,
  type YaraCompiler,
  type YaraDiagnostic,
} from './yara-compiler';
import { scanYara, YaraSyntaxError, type YaraSource } from './yara-source';

/**
 * The user's explicit choice of match type: a rule meta entry, e.g. `vt_match_object_type = "url"`.
 * A ruleset has one type, so every rule that sets it must agree.
 */
export const MATCH_TYPE_META = 'vt_match_object_type';

/** VirusTotal's condition for "first time VirusTotal sees this file" (the `vt` module). */
export const NEW_FILE_CONDITION = 'vt.metadata.new_file';

export interface PreparedRules {
  matchObjectType: MatchObjectType;
  /** The text VirusTotal is to hold. */
  rules: string;
  /** The compiler's warnings, one line each; they do not block. */
  warnings: string[];
  /** False when the compiler could not be loaded: VirusTotal alone will judge the rule. */
  checked: boolean;
}

/** The rule cannot be sent: permanent for this version of the pattern. */
export class RuleRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleRefused';
  }
}

export interface PrepareOptions {
  newFilesOnly: boolean;
}

const MAX_ERRORS_SHOWN = 5;

/**
 * The order in which match types are tried when the rules do not say. A URL ruleset sees the
 * URL's domain and IP address too, and a domain ruleset the IP address (`vt.net.domain` compiles
 * for url and domain, `vt.net.ip` for all three), so the narrowest network type that compiles is
 * what the author meant: a rule on `vt.net.domain` hunts domains. File comes first: a rule without
 * `vt.net` compiles for every type and was written for files.
 */
export const MATCH_TYPE_PREFERENCE: readonly MatchObjectType[] = ['file', 'ip_address', 'domain', 'url'];

function refusal(what: string, errors: YaraDiagnostic[]): RuleRefused {
  const shown = errors.slice(0, MAX_ERRORS_SHOWN).map(describeDiagnostic).join('; ');
  const more = errors.length > MAX_ERRORS_SHOWN ? ` (and ${errors.length - MAX_ERRORS_SHOWN} more)` : '';
  return new RuleRefused(`YARA-X refuses the rule ${what}: ${shown}${more}`);
}

/** The match type the rules ask for by meta, if any. */
export function explicitMatchType(source: YaraSource): MatchObjectType | undefined {
  const asked = new Set<string>();
  for (const rule of source.rules) {
    for (const entry of rule.meta) if (entry.key === MATCH_TYPE_META) asked.add(String(entry.value));
  }
  if (asked.size === 0) return undefined;
  if (asked.size > 1)
    throw new RuleRefused(
      `the rules disagree on ${MATCH_TYPE_META} (${[...asked].map((v) => `"${v}"`).join(', ')}): a ruleset has one match type`,
    );
  const [value] = asked as Set<string>;
  if (!(MATCH_OBJECT_TYPES as readonly string[]).includes(value as string)) {
    throw new RuleRefused(`${MATCH_TYPE_META} = "${value}" is not a match type (one of ${MATCH_OBJECT_TYPES.join(', ')})`);
  }
  return value as MatchObjectType;
}

/**
 * Every rule that can notify gets `vt.metadata.new_file and (<its condition>)`; `import "vt"` is
 * added once when missing. The original condition is parenthesised because `and` binds tighter
 * than `or`. Private rules are left as written: they never notify by themselves, only through
 * the rules that use them, which are restricted. Global rules are restricted like the others:
 * a non-private global rule notifies too, and restricting it only narrows what it gates.
 */
export function restrictToNewFiles(text: string, source: YaraSource): string {
  let out = text;
  // From the last rule backwards, so earlier offsets stay valid.
  for (const rule of [...source.rules].reverse()) {
    if (rule.modifiers.includes('private')) continue;
    out = `${out.slice(0, rule.conditionStart)} ${NEW_FILE_CONDITION} and (${out.slice(rule.conditionStart, rule.conditionEnd)})${out.slice(rule.conditionEnd)}`;
  }
  return source.imports.includes('vt') ? out : `import "vt"\n${out}`;
}

/** YARA-X's code for a `vt` field the match type does not have (e.g. `vt.net` in a file ruleset). */
const WRONG_MATCH_TYPE = 'E100';

/**
 * The errors to report when no match type compiles: those of the type the author most likely
 * meant, the one with the fewest wrong-match-type errors, then the fewest errors (a typo in a
 * URL rule is reported as the typo, not as "vt.net is not supported for files").
 */
function closest(verdicts: Array<[MatchObjectType, Extract<CompileVerdict, { status: 'refused' }>]>) {
  const score = ([, verdict]: (typeof verdicts)[number]) => [
    verdict.errors.filter((e) => e.code === WRONG_MATCH_TYPE).length,
    verdict.errors.length,
  ];
  return verdicts.reduce((best, candidate) => {
    const [a, b] = [score(candidate), score(best)];
    return a[0]! < b[0]! || (a[0] === b[0] && a[1]! < b[1]!) ? candidate : best;
  });
}

/** Chooses the match type, restricts to new files if asked, and compiles what will be sent. */
export function prepareRules(pattern: string, options: PrepareOptions, compiler: YaraCompiler): PreparedRules {
  let source: YaraSource | undefined;
  let syntaxError: YaraSyntaxError | undefined;
  try {
    source = scanYara(pattern);
  } catch (error) {
    if (!(error instanceof YaraSyntaxError)) throw error;
    // The compiler's message is better when it is there; this one is kept for when it is not.
    syntaxError = error;
  }
  const explicit = source ? explicitMatchType(source) : undefined;

  let matchObjectType: MatchObjectType = explicit ?? 'file';
  let checked = true;
  let warnings: YaraDiagnostic[] = [];
  const refused: Array<[MatchObjectType, Extract<CompileVerdict, { status: 'refused' }>]> = [];
  for (const type of explicit ? [explicit] : MATCH_TYPE_PREFERENCE) {
    const verdict = compiler.compile(pattern, type);
    if (verdict.status === 'unknown') {
      checked = false;
      break;
    }
    if (verdict.status === 'compiled') {
      matchObjectType = type;
      warnings = verdict.warnings;
      break;
    }
    refused.push([type, verdict]);
  }
  if (checked && refused.length === (explicit ? 1 : MATCH_TYPE_PREFERENCE.length)) {
    const [type, verdict] = closest(refused);
    throw refusal(
      explicit ? `(${type} ruleset, set by ${MATCH_TYPE_META})` : `(${type} ruleset; no match type compiles it)`,
      verdict.errors,
    );
  }

  let rules = pattern;
  if (options.newFilesOnly && matchObjectType === 'file') {
    if (!source) throw new RuleRefused(`cannot restrict the rules to new files: ${syntaxError?.message}`);
    rules = restrictToNewFiles(pattern, source);
    const verdict = compiler.compile(rules, 'file');
    if (verdict.status === 'refused') throw refusal('(file ruleset, once restricted to new files)', verdict.errors);
    if (verdict.status === 'compiled') warnings = verdict.warnings;
  }
  return { matchObjectType, rules, warnings: warnings.map(describeDiagnostic), checked };
}
