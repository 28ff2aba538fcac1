/**
 * The README's configuration tables, one per block between `<!-- generated:config:NAME -->` and
 * `<!-- /generated -->`; the prose around the blocks is the README's own.
 */
import { fileKeyOf, fileSectionOf, SETTINGS, type Setting } from '../settings';
import { yamlValue } from './text';

export const README_TABLES = ['opencti', 'connector', 'virustotal', 'temporal', 'network'] as const;
export type ReadmeTable = (typeof README_TABLES)[number];

const SECTION_TABLE = { opencti: 'opencti', connector: 'connector', virustotal_livehunt: 'virustotal', temporal: 'temporal' } as const;

/**
 * A variable is documented with the section that validates it; the common and network ones,
 * validated by every role, with their config.yml section (the proxies, top-level keys, apart).
 */
export function tableOf(declared: Setting): ReadmeTable {
  if (declared.group !== 'common' && declared.group !== 'network') return declared.group;
  const section = fileSectionOf(declared.env);
  return section ? SECTION_TABLE[section] : 'network';
}

const READERS = { worker: 'worker', starter: 'starter', 'embedded server': '`npm start` (embedded server)' } as const;

const cell = (text: string) => text.replace(/\|/g, '\\|');

function row(declared: Setting): string {
  const names = [declared.env, ...(declared.aliases ?? [])].map((name) => `\`${name}\``).join(' / ');
  const shownDefault =
    declared.default !== undefined
      ? `\`${typeof declared.default === 'string' ? declared.default : yamlValue(declared.default)}\``
      : (declared.defaultNote ?? '');
  // The Temporal SDK reads some variables itself: the connector hands them over unchecked.
  const readBy = declared.readBy.map((reader) => READERS[reader]).join(', ') + (declared.validator === undefined ? ' (Temporal SDK)' : '');
  return `| \`${fileKeyOf(declared.env)}\` | ${names} | ${cell(shownDefault)} | ${declared.mandatory ? 'Yes' : 'No'} | ${readBy} | ${cell(declared.description)} |`;
}

export function readmeTable(table: ReadmeTable): string {
  const rows = SETTINGS.filter((declared) => tableOf(declared) === table).map(row);
  return ['| config.yml | Environment variable | Default | Mandatory | Read by | Description |', '|---|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}

const START = (table: string) => `<!-- generated:config:${table} -->`;
const END = '<!-- /generated -->';

/** The README with every configuration block regenerated; throws when a block is missing. */
export function withReadmeTables(readme: string): string {
  let result = readme;
  for (const table of README_TABLES) {
    const start = result.indexOf(START(table));
    const end = start === -1 ? -1 : result.indexOf(END, start);
    if (start === -1 || end === -1) throw new Error(`README.md has no ${START(table)} ... ${END} block for the ${table} table`);
    result = `${result.slice(0, start)}${START(table)}\n${readmeTable(table)}\n${result.slice(end)}`;
  }
  return result;
}
