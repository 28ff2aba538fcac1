/**
 * The README's Markdown descriptions turned into plain text, for config.yml.sample's comments
 * and the OpenCTI catalog, which show no Markdown.
 */
import type { Literal } from '../settings';

export function plainText(markdown: string): string {
  return markdown
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/`([^`]*)`/g, '$1');
}

/** Words wrapped into lines of at most `width` characters (a longer word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** A value as config.yml writes it: strings single-quoted, lists in the flow form. */
export function yamlValue(value: Literal): string {
  if (Array.isArray(value)) return `[${value.map((item) => yamlValue(item as string)).join(', ')}]`;
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}
