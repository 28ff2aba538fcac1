/**
 * VirusTotal's YARA compiler (YARA-X, through the `@litko/yara-x` native binding), run locally so
 * that a rule VirusTotal would refuse is known before any request. The binding is native: it is
 * loaded on first use, and on a platform without a prebuilt binary the compiler answers
 * "unknown" (said once in the log) and VirusTotal's own 400 stays the judge.
 *
 * Also used by the VirusTotal emulator, which must refuse exactly what VirusTotal refuses.
 */

/** What a Livehunt ruleset hunts. YARA-X calls the same distinction "features". */
export const MATCH_OBJECT_TYPES = ['file', 'url', 'domain', 'ip_address'] as const;
export type MatchObjectType = (typeof MATCH_OBJECT_TYPES)[number];

export interface YaraDiagnostic {
  /** YARA-X's code: `E025` for an error, `slow_pattern`, `invariant_expr`... for a warning. */
  code: string;
  /** The compiler's title, e.g. "unknown pattern `$b`". */
  title: string;
  line?: number;
  column?: number;
  /** The compiler's label under the faulty span, e.g. "this pattern is not declared in the `strings` section". */
  label?: string;
}

export type CompileVerdict =
  | { status: 'compiled'; warnings: YaraDiagnostic[] }
  | { status: 'refused'; errors: YaraDiagnostic[]; warnings: YaraDiagnostic[] }
  /** The compiler is not available here; nothing is known about the rule. */
  | { status: 'unknown'; reason: string };

export interface YaraCompiler {
  compile(source: string, matchObjectType: MatchObjectType): CompileVerdict;
}

/**
 * VirusTotal's deprecated external variables for file rulesets, still accepted by Livehunt, with
 * a value of their type (YARA-X infers the type from the text: boolean, integer or string). The
 * per-engine booleans (`panda`, `f_secure`...) are not listed: VirusTotal does not publish the
 * list, so a rule using one is refused here as an unknown identifier.
 */
const LEGACY_FILE_VARIABLES: Record<string, string> = {
  new_file: 'false',
  positives: '0',
  submissions: '0',
  signatures: 'text',
  file_name: 'text',
  file_type: 'text',
  md5: 'text',
  sha1: 'text',
  sha256: 'text',
  imphash: 'text',
  ssdeep: 'text',
  vhash: 'text',
  tags: 'text',
};

/** The subset of the binding this module uses (its own typings are not needed at compile time). */
interface YaraXBinding {
  validate(
    source: string,
    options?: { features?: string[]; defineVariables?: Record<string, string> },
  ): { errors: Array<{ code: string; message: string }>; warnings: Array<{ code: string; message: string }> };
}

/**
 * YARA-X's messages are multi-line reports ("error[E025]: title\n --> line:1:39\n ... ^^ label").
 * Only the title, position and label are kept: one line an operator reads in a log or the Web UI.
 */
export function parseDiagnostic(code: string, report: string): YaraDiagnostic {
  const lines = report.split('\n');
  const title = (lines[0] ?? '').replace(/^(?:error|warning)\[[^\]]*\]:\s*/, '').trim() || code;
  const position = /-->\s*line:(\d+):(\d+)/.exec(report);
  // Under the source line (a line with no number before its bar), carets mark the primary span (dashes the secondary ones, and the only
  // ones in a warning); its label is the text after the last run of them on that line.
  const labelAfter = (marker: RegExp) =>
    lines.map((line) => (/^\s*\|/.test(line) ? marker.exec(line)?.[1] : undefined)).find((text) => text !== undefined);
  const label = labelAfter(/\^+\s+([^^|]+)$/) ?? labelAfter(/-+\s+([^|]+)$/);
  const note = /^\s*= note:\s*(.+)$/m.exec(report)?.[1];
  const shown = [label?.trim(), note ? `note: ${note.trim()}` : undefined].filter(Boolean).join('; ');
  return {
    code,
    title,
    ...(position ? { line: Number(position[1]), column: Number(position[2]) } : {}),
    ...(shown ? { label: shown } : {}),
  };
}

/** "E025 at line 1, column 39: unknown pattern `$b` (this pattern is not declared in the `strings` section)". */
export function describeDiagnostic(diagnostic: YaraDiagnostic): string {
  const where = diagnostic.line !== undefined ? ` at line ${diagnostic.line}, column ${diagnostic.column}` : '';
  const label = diagnostic.label ? ` (${diagnostic.label})` : '';
  return `${diagnostic.code}${where}: ${diagnostic.title}${label}`;
}

export interface YaraCompilerOptions {
  /** Told once when the native module cannot be loaded. */
  onUnavailable?: (reason: string) => void;
  /** Test seam: loads the binding (default: `@litko/yara-x`). */
  load?: () => YaraXBinding;
}

// A plain require inside a function: the native module is read only when first needed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadBinding = (): YaraXBinding => require('@litko/yara-x') as YaraXBinding;

/** A compiler that loads the native binding on first use, once. */
export function createYaraCompiler(options: YaraCompilerOptions = {}): YaraCompiler {
  let binding: YaraXBinding | undefined;
  let unavailable: string | undefined;

  const ready = (): YaraXBinding | undefined => {
    if (binding || unavailable) return binding;
    try {
      binding = (options.load ?? loadBinding)();
    } catch (error) {
      unavailable = `the YARA-X compiler (@litko/yara-x) cannot be loaded on this platform (${process.platform}-${process.arch}): ${(error as Error).message.split('\n')[0]}`;
      options.onUnavailable?.(unavailable);
    }
    return binding;
  };

  return {
    compile(source, matchObjectType) {
      const yarax = ready();
      if (!yarax) return { status: 'unknown', reason: unavailable ?? 'unavailable' };
      let result: ReturnType<YaraXBinding['validate']>;
      try {
        result = yarax.validate(source, {
          features: [matchObjectType],
          ...(matchObjectType === 'file' ? { defineVariables: LEGACY_FILE_VARIABLES } : {}),
        });
      } catch (error) {
        // The binding reports rule errors as data; a throw is its own failure, not the rule's:
        // VirusTotal judges this one rather than the activity failing on every retry.
        return { status: 'unknown', reason: `YARA-X failed on this text: ${(error as Error).message.split('\n')[0]}` };
      }
      const warnings = result.warnings.map((w) => parseDiagnostic(w.code, w.message));
      if (result.errors.length === 0) return { status: 'compiled', warnings };
      return { status: 'refused', errors: result.errors.map((e) => parseDiagnostic(e.code, e.message)), warnings };
    },
  };
}
