/**
 * YARA indicators with detection true, appended to the emulated OpenCTI stream. Each has a
 * unique name, so its ruleset is found by name in VirusTotal, and the emulator's event id says
 * when the event entered the stream (`<ms>-<seq>`).
 */
import type { OpenCtiEmulator } from '../../emulators/opencti';
import { indicatorWorkflowId } from '../../domain/indicator';

export interface AppendedIndicator {
  name: string;
  internalId: string;
  workflowId: string;
  eventId: string;
  /** When the event entered the stream (the event id's millisecond). */
  appendedAt: number;
}

export function yaraPattern(name: string, marker: string): string {
  return `rule ${name} {\n  strings:\n    $a = "${marker}" ascii\n  condition:\n    $a\n}`;
}

export function appendIndicator(opencti: OpenCtiEmulator, name: string): AppendedIndicator {
  const { internalId, eventId } = opencti.createIndicator({ name, pattern: yaraPattern(name, `bench-${name}`), detection: true });
  return { name, internalId, workflowId: indicatorWorkflowId(internalId), eventId, appendedAt: Number(eventId.split('-')[0]) };
}

export function appendBacklog(opencti: OpenCtiEmulator, prefix: string, count: number): AppendedIndicator[] {
  return Array.from({ length: count }, (_, i) => appendIndicator(opencti, `${prefix}_${String(i).padStart(5, '0')}`));
}

/** Changes the pattern of an existing indicator (a `update` event); returns when it entered the stream. */
export function changePattern(opencti: OpenCtiEmulator, indicator: AppendedIndicator, marker: string): number {
  const eventId = opencti.updateIndicator(indicator.internalId, { pattern: yaraPattern(indicator.name, marker) });
  return Number(eventId.split('-')[0]);
}
