/**
 * The Dockerfile read the way `docker build` reads it: instructions (continuation lines joined,
 * comments dropped) grouped into build stages. The deployment-file checks and the runtime-image
 * test both read the image from here, so neither can drift from the file itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type Instruction = { keyword: string; args: string };
export type Stage = { base: string; name?: string; instructions: Instruction[] };
/** A COPY/ADD: its sources (build context, or the stage named by --from) and its destination. */
export type Copy = { from?: string; sources: string[]; destination: string; flags: string[] };

export const DOCKERFILE = path.resolve(__dirname, '../../Dockerfile');

export function dockerfileInstructions(file = DOCKERFILE): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    if (full === '') continue;
    const match = /^(\S+)\s*(.*)$/s.exec(full)!;
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim().replace(/\s+/g, ' ') });
  }
  return instructions;
}

export function dockerfileStages(file = DOCKERFILE): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of dockerfileInstructions(file)) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({ base: words[0]!, name: words[1]?.toLowerCase() === 'as' ? words[2]?.toLowerCase() : undefined, instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(instruction);
    } else if (instruction.keyword !== 'ARG') {
      throw new Error(`Dockerfile: ${instruction.keyword} before the first FROM`);
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return stages;
}

/** The last stage: the one that becomes the image. */
export function finalStage(file = DOCKERFILE): Stage {
  return dockerfileStages(file).at(-1)!;
}

export function instructionsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);
}

/** A stage's COPY and ADD instructions, in order. */
export function copiesOf(stage: Stage): Copy[] {
  return stage.instructions
    .filter((instruction) => instruction.keyword === 'COPY' || instruction.keyword === 'ADD')
    .map((instruction) => {
      const words = instruction.args.split(/\s+/);
      const flags = words.filter((word) => word.startsWith('--'));
      const rest = instruction.args.startsWith('[')
        ? (JSON.parse(instruction.args) as string[])
        : words.filter((word) => !word.startsWith('--'));
      const from = flags
        .find((flag) => flag.startsWith('--from='))
        ?.slice('--from='.length)
        .toLowerCase();
      return {
        from,
        flags,
        sources: rest.slice(0, -1).map((source) => source.replace(/^\.\//, '').replace(/\/+$/, '') || '.'),
        destination: rest.at(-1)!,
      };
    });
}

/** The stage's environment: ENV key=value pairs (quotes removed), later ones winning. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of instructionsOf(stage, 'ENV')) {
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|'([^']*)'|(\S*))/g))
      env[match[1]!] = match[3] ?? match[4] ?? match[5] ?? '';
  }
  return env;
}

/** The last WORKDIR of the stage (absolute in the image), / when none. */
export function workdirOf(stage: Stage): string {
  return instructionsOf(stage, 'WORKDIR').at(-1) ?? '/';
}

/** The user the image runs as (its last USER, without the group), root when none. */
export function userOf(stage: Stage): string {
  return instructionsOf(stage, 'USER').at(-1)?.split(':')[0]?.trim() ?? 'root';
}

/** CMD in the exec (JSON) form; throws on the shell form, which puts a shell in front of the process. */
export function cmdOf(stage: Stage): string[] {
  const cmd = instructionsOf(stage, 'CMD').at(-1);
  if (cmd === undefined) throw new Error('Dockerfile: the image has no CMD');
  if (!cmd.startsWith('['))
    throw new Error(`Dockerfile: CMD ${cmd} is in the shell form; use the exec (JSON) form so signals reach the process`);
  return JSON.parse(cmd) as string[];
}

export function entrypointOf(stage: Stage): string[] | undefined {
  const entrypoint = instructionsOf(stage, 'ENTRYPOINT').at(-1);
  if (entrypoint === undefined) return undefined;
  if (!entrypoint.startsWith('[')) throw new Error(`Dockerfile: ENTRYPOINT ${entrypoint} is in the shell form`);
  return JSON.parse(entrypoint) as string[];
}

/** The commands of a stage's RUN instructions, each split on `&&` into its steps. */
export function runStepsOf(stage: Stage): string[][] {
  return instructionsOf(stage, 'RUN').map((run) =>
    run
      .split('&&')
      .map((step) => step.trim())
      .filter((step) => step !== ''),
  );
}
