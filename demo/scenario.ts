/**
 * What the demo plays through OpenCTI, and what the connector should make of it. Two phases, so
 * that the changes in the second one reach the connector after the first one is in VirusTotal:
 * an edit of a pattern is then visibly a new ruleset rather than a state the workflow skipped.
 */
import type { OpenCtiEmulator } from '../emulators/opencti';

export type Change = { kind: 'edit-pattern'; pattern: string } | { kind: 'detection-off' } | { kind: 'delete' };

export interface DemoIndicator {
  name: string;
  pattern: string;
  /** Default 'yara'; anything else is ignored by the connector. */
  patternType?: 'stix';
  detection: boolean;
  /** Played in the second phase. */
  change?: Change;
  /** One line for the summary: what was done in OpenCTI. */
  story: string;
  /** What the connector should end with. */
  expected: { rules?: string; workflow: 'running' | 'completed' | 'none' };
}

const ACME_V1 = String.raw`rule ACME_Loader_Strings
{
  meta:
    description = "ACME loader configuration marker"
  strings:
    $cfg = "acme-cfg" ascii
    $mutex = "Global\\AcmeLoaderMutex" wide
  condition:
    uint16(0) == 0x5A4D and any of them
}`;

const ACME_V2 = String.raw`rule ACME_Loader_Strings
{
  meta:
    description = "ACME loader configuration marker (v2 adds the new config marker and a second rule)"
  strings:
    $cfg = "acme-cfg" ascii
    $cfg2 = "acme-config-v2" ascii
    $mutex = "Global\\AcmeLoaderMutex" wide
  condition:
    uint16(0) == 0x5A4D and any of them
}

rule ACME_Loader_Config_Blob
{
  strings:
    $blob = { 41 43 4D 45 ?? ?? 00 01 }
  condition:
    $blob
}`;

const COBALT_STRIKE = String.raw`rule CobaltStrike_Beacon_Config
{
  strings:
    $cfg = { 00 01 00 01 00 02 ?? ?? 00 02 00 01 00 02 ?? ?? }
    $pipe = "\\\\.\\pipe\\msagent_" ascii
  condition:
    any of them
}`;

const SLIVER = String.raw`rule Sliver_Implant_Strings
{
  strings:
    $pb = "sliverpb" ascii
    $repo = "github.com/bishopfox/sliver" ascii
  condition:
    any of them
}

rule Sliver_Implant_Go
{
  strings:
    $go = "Go build ID:" ascii
    $pb = "sliverpb" ascii
  condition:
    all of them and filesize < 20MB
}`;

const EMOTET = String.raw`rule Emotet_Macro_Dropper
{
  strings:
    $auto = "AutoOpen" ascii nocase
    $ps = "powershell -e" ascii nocase
  condition:
    all of them
}`;

const QAKBOT = String.raw`rule Qakbot_Payload_XOR
{
  strings:
    $xor = "qbot_cfg" xor
  condition:
    $xor
}`;

const DRAFT = String.raw`rule Draft_Hunting_Rule
{
  strings:
    $a = "work in progress" ascii
  condition:
    $a
}`;

export const DEMO_INDICATORS: DemoIndicator[] = [
  {
    name: 'ACME_Loader_Strings',
    pattern: ACME_V1,
    detection: true,
    change: { kind: 'edit-pattern', pattern: ACME_V2 },
    story: 'detection true, then pattern edited (1 -> 2 rules)',
    expected: { rules: ACME_V2, workflow: 'running' },
  },
  {
    name: 'CobaltStrike_Beacon_Config',
    pattern: COBALT_STRIKE,
    detection: true,
    story: 'detection true',
    expected: { rules: COBALT_STRIKE, workflow: 'running' },
  },
  {
    name: 'Sliver_Implant_Strings',
    pattern: SLIVER,
    detection: true,
    story: 'detection true',
    expected: { rules: SLIVER, workflow: 'running' },
  },
  {
    name: 'Emotet_Macro_Dropper',
    pattern: EMOTET,
    detection: true,
    change: { kind: 'detection-off' },
    story: 'detection true, then set to false',
    expected: { workflow: 'completed' },
  },
  {
    name: 'Qakbot_Payload_XOR',
    pattern: QAKBOT,
    detection: true,
    change: { kind: 'delete' },
    story: 'detection true, then deleted',
    expected: { workflow: 'completed' },
  },
  {
    name: 'Draft_Hunting_Rule',
    pattern: DRAFT,
    detection: false,
    story: 'detection false',
    expected: { workflow: 'completed' },
  },
  {
    name: 'C2 server 203.0.113.7',
    pattern: "[ipv4-addr:value = '203.0.113.7']",
    patternType: 'stix',
    detection: true,
    story: 'STIX pattern, not YARA',
    expected: { workflow: 'none' },
  },
];

export interface PlayedIndicator extends DemoIndicator {
  internalId: string;
}

/** Phase 1: every indicator is created. */
export function playCreates(opencti: OpenCtiEmulator): PlayedIndicator[] {
  return DEMO_INDICATORS.map((indicator) => {
    const { internalId } = opencti.createIndicator({
      name: indicator.name,
      pattern: indicator.pattern,
      detection: indicator.detection,
      ...(indicator.patternType ? { patternType: indicator.patternType } : {}),
    });
    return { ...indicator, internalId };
  });
}

/** Phase 2: the edit, the detection flip and the deletion. */
export function playChanges(opencti: OpenCtiEmulator, played: PlayedIndicator[]): void {
  for (const indicator of played) {
    const change = indicator.change;
    if (!change) continue;
    if (change.kind === 'edit-pattern') opencti.updateIndicator(indicator.internalId, { pattern: change.pattern });
    else if (change.kind === 'detection-off') opencti.updateIndicator(indicator.internalId, { detection: false });
    else opencti.deleteIndicator(indicator.internalId);
  }
}

/** Phase 1 in words, for the progress output. */
export function describeCreates(): string {
  const yara = DEMO_INDICATORS.filter((i) => i.patternType === undefined);
  const on = yara.filter((i) => i.detection).length;
  const others = DEMO_INDICATORS.length - yara.length;
  return `created ${on} YARA indicators with detection true, ${yara.length - on} with detection false, and ${others} STIX-pattern indicator${others === 1 ? '' : 's'}`;
}

/** Phase 2 in words, for the progress output. */
export function describeChanges(): string {
  const words = { 'edit-pattern': 'edited the pattern of', 'detection-off': 'set detection false on', delete: 'deleted' } as const;
  return DEMO_INDICATORS.flatMap((i) => (i.change ? [`${words[i.change.kind]} ${i.name}`] : [])).join(', ');
}

/** The patterns VirusTotal should hold after phase 1, by ruleset name. */
export function afterCreates(): Map<string, string> {
  return new Map(DEMO_INDICATORS.filter((i) => i.detection && i.patternType === undefined).map((i) => [i.name, i.pattern]));
}

/** The patterns VirusTotal should hold at the end, by ruleset name. */
export function atTheEnd(): Map<string, string> {
  return new Map(DEMO_INDICATORS.flatMap((i) => (i.expected.rules !== undefined ? [[i.name, i.expected.rules] as const] : [])));
}
