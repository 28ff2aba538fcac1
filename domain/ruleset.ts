/**
 * What a Livehunt ruleset carries for an indicator, and how to tell whether two differ.
 * Pure, dependency-free: workflow code imports this module.
 */

export interface RulesetContent {
  name: string;
  /** The indicator's pattern as written (what VirusTotal holds may be derived from it). */
  rules: string;
  notificationEmails: string[];
  /**
   * Set by the connector when the rules were checked before sending: the match type VirusTotal
   * was asked to hunt and the compiler's warnings. Not compared: it follows from `rules`.
   */
  compiled?: { matchObjectType: string; warnings: string[] };
}

export function sameEmails(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((email, index) => email === sortedB[index]);
}

export function sameContent(a: RulesetContent, b: RulesetContent): boolean {
  return a.name === b.name && a.rules === b.rules && sameEmails(a.notificationEmails, b.notificationEmails);
}

export type Editor = { type: 'user' | 'group'; id: string };

export function editorKey(editor: Editor): string {
  return `${editor.type}:${editor.id}`;
}
