/**
 * The Temporal Web UI of a dev server, looked at in headless Chromium: a small scene of indicator
 * workflows (shared by the browser test and the README screenshot script), and page helpers.
 */
import type { Page } from 'playwright-core';
import { indicatorWorkflowId } from '../../domain/indicator';
import { processEnvironment } from '../../config';
import { resolveTemporalCli } from '../../temporal/cli';
import { startDevServer, type DevServer } from '../../temporal/dev-server';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { waitFor } from './processes';
import { Stack } from './stack';
import { rule } from './yara';

/** A dev server with its Web UI on a free port (the other tests run headless). */
export async function startTemporalWithUi(): Promise<DevServer & { uiUrl: string }> {
  const env = processEnvironment();
  const cli = await resolveTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH || undefined, searchPath: env.PATH ?? '' });
  const server = await startDevServer({
    cliPath: cli.path,
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, 'Keyword' as const])),
  });
  if (!server.uiUrl) throw new Error('the dev server started without its Web UI');
  return server as DevServer & { uiUrl: string };
}

export interface SceneIndicator {
  name: string;
  internalId: string;
  workflowId: string;
  status: string;
}

/** Indicators in the states an operator meets: live rulesets, a rejected rule, a detection turned off. */
export async function playScene(
  stack: Stack,
): Promise<Record<'live' | 'rejected' | 'switchedOff', SceneIndicator> & { all: SceneIndicator[] }> {
  const make = async (name: string, pattern: string, status: string, detectionOff = false) => {
    const created = stack.opencti.createIndicator({ name, pattern });
    let eventId = created.eventId;
    if (detectionOff) {
      await stack.applied(created.internalId, eventId);
      eventId = stack.opencti.updateIndicator(created.internalId, { detection: false });
    }
    if (!detectionOff) await stack.applied(created.internalId, eventId);
    else await waitFor(`${name} to finish`, async () => (await stack.handle(created.internalId).describe()).status.name === 'COMPLETED');
    return { name, internalId: created.internalId, workflowId: indicatorWorkflowId(created.internalId), status };
  };
  const live = await make('ACME_Loader_Strings', rule('ACME_Loader_Strings', 'filesize < 2MB'), 'active');
  const others = [
    await make('Emotet_Doc_Dropper', rule('Emotet_Doc_Dropper'), 'active'),
    await make('CobaltStrike_Beacon_Config', rule('CobaltStrike_Beacon_Config'), 'active'),
  ];
  const rejected = await make('Broken_Macro_Rule', 'rule Broken_Macro_Rule { condition: ', 'invalid-rule');
  const switchedOff = await make('Retired_Webshell', rule('Retired_Webshell'), 'inactive', true);
  return { live, rejected, switchedOff, all: [live, ...others, rejected, switchedOff] };
}

export function workflowPageUrl(uiUrl: string, workflowId: string, namespace = 'default'): string {
  return `${uiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Text of the page and of its frames (the UI renders summaries and details, Markdown, in sandboxed frames). */
export async function visibleText(page: Page): Promise<string> {
  // A string, evaluated in the browser: this project compiles without the DOM types.
  const texts = await Promise.all(
    page.frames().map((frame) => frame.evaluate('document.body ? document.body.innerText : ""').catch(() => '')),
  );
  return texts.join('\n');
}

/** Waits until the page (frames included) shows every expected text; fails naming those missing. */
export async function waitForTexts(page: Page, expected: Array<string | RegExp>, timeoutMs = 30_000): Promise<string> {
  let last = '';
  try {
    return await waitFor(
      `the page to show ${expected.join(', ')}`,
      async () => {
        last = await visibleText(page);
        return expected.every((item) => (typeof item === 'string' ? last.includes(item) : item.test(last))) ? last : undefined;
      },
      timeoutMs,
      500,
    );
  } catch (error) {
    const missing = expected.filter((item) => !(typeof item === 'string' ? last.includes(item) : item.test(last)));
    throw new Error(`${(error as Error).message}\nmissing: ${missing.join(', ')}\npage text:\n${last.slice(0, 3000)}`, { cause: error });
  }
}

/**
 * The workflow list with the indicator's name and status as columns, and without the columns
 * named here (the UI keeps this per browser, so a fresh one needs it each time).
 */
export async function showIndicatorColumns(page: Page, hide: string[] = []): Promise<void> {
  await page.getByTestId('workflows-summary-table-configuration-button').click();
  // Each column is a row of the settings drawer: its name, then its add (+) or remove (-) button.
  const toggle = (column: string) =>
    page.getByText(column, { exact: true }).filter({ visible: true }).last().locator('xpath=..').getByRole('button').last().click();
  for (const column of ['LivehuntIndicatorName', 'LivehuntStatus']) await toggle(column);
  for (const column of hide) await toggle(column);
  await page.getByRole('button', { name: 'Close' }).filter({ visible: true }).first().click();
  await page.getByText('Configure Workflows Table').waitFor({ state: 'hidden' });
}
