/**
 * What an indicator workflow shows in the Temporal Web UI from its first run: a summary (the
 * indicator's name, so the workflow list speaks in indicators rather than ids) and details with
 * links to the indicator in OpenCTI and to VirusTotal Livehunt. Set when the starter starts the
 * workflow (signalWithStart); Temporal keeps them for that run. The workflow's own current
 * details (workflows/presentation.ts) carry the name, status and ruleset across continue-as-new.
 */
import type { IndicatorEvent } from '../domain/indicator';
import { shortName } from '../workflows/presentation';

/** Where VirusTotal shows an account's Livehunt rulesets and their notifications. */
const VIRUSTOTAL_LIVEHUNT_PAGE = 'https://www.virustotal.com/gui/hunting-overview';

export interface WorkflowPresentation {
  staticSummary: string;
  staticDetails: string;
}

/** `openctiUrl` is OPENCTI_URL (no trailing slash). */
export function workflowPresentation(event: IndicatorEvent, openctiUrl: string): WorkflowPresentation {
  const { internalId, name } = event.indicator;
  const indicatorPage = `${openctiUrl}/dashboard/observations/indicators/${encodeURIComponent(internalId)}`;
  return {
    staticSummary: `YARA indicator ${shortName(name)}`,
    staticDetails: [
      `Keeps one VirusTotal Livehunt ruleset for the OpenCTI indicator **${shortName(name)}** while it is a detection.`,
      '',
      `- Indicator in OpenCTI: [${indicatorPage}](${indicatorPage})`,
      `- Rulesets in VirusTotal: [${VIRUSTOTAL_LIVEHUNT_PAGE}](${VIRUSTOTAL_LIVEHUNT_PAGE}) (the ruleset id is in the current details)`,
      `- Status and reason: current details, or the \`state\` query`,
    ].join('\n'),
  };
}
