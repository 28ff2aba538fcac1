/**
 * What a Livehunt ruleset carries for an indicator, and how to tell whether two differ.
 * Pure, dependency-free: workflow code imports this module.
 */

export interface RulesetContent {
  name: string;
  rules: string;
  notificationEmails: string[];
}

export function sameContent(a: RulesetContent, b: RulesetContent): boolean {
  return (
    a.name === b.name &&
    a.rules === b.rules &&
    a.notificationEmails.length === b.notificationEmails.length &&
    [...a.notificationEmails].sort().every((email, index) => email === [...b.notificationEmails].sort()[index])
  );
}

export type Editor = { type: 'user' | 'group'; id: string };

export function editorKey(editor: Editor): string {
  return `${editor.type}:${editor.id}`;
}
