/**
 * The Temporal Web UI speaks in indicators: checked in a real browser (Debian's chromium, headless)
 * against the dev server's own UI. The workflow page of an indicator shows its name in the
 * summary, its status and reason in the current details, and its activities and drift-check
 * timer by what they do.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { DevServer } from '../../temporal/dev-server';
import { launchChromium } from '../support/browser';
import { Stack } from '../support/stack';
import { playScene, showIndicatorColumns, startTemporalWithUi, waitForTexts, workflowPageUrl } from '../support/web-ui';

let server: DevServer & { uiUrl: string };
let stack: Stack;
let browser: Browser;
let scene: Awaited<ReturnType<typeof playScene>>;

before(async () => {
  browser = await launchChromium();
  server = await startTemporalWithUi();
  stack = await Stack.start(server);
  scene = await playScene(stack);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await server?.stop();
});

test("an indicator's workflow page: its activities and timer by what they do; its name, status and reason in the user metadata", async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(workflowPageUrl(server.uiUrl, scene.live.workflowId));
  // The timeline (the default tab) labels each activity and timer with its summary.
  await waitForTexts(page, ['create ruleset ACME_Loader_Strings', 'next drift check']);
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  const text = await waitForTexts(page, [
    'YARA indicator ACME_Loader_Strings',
    'ACME_Loader_Strings: active',
    'ruleset created',
    'Livehunt ruleset:',
  ]);
  const rulesetId = stack.rulesetsNamed('ACME_Loader_Strings')[0]?.id;
  assert.ok(rulesetId && text.includes(rulesetId), 'the current details name the ruleset VirusTotal holds');
  assert.ok(text.includes(`/dashboard/observations/indicators/${scene.live.internalId}`), 'the details link to the indicator in OpenCTI');
  await page.close();
});

test("a rejected rule: the status and VirusTotal's reason are on the workflow page", async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(workflowPageUrl(server.uiUrl, scene.rejected.workflowId));
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await waitForTexts(page, [
    'YARA indicator Broken_Macro_Rule',
    'Broken_Macro_Rule: invalid-rule',
    'VirusTotal rejected the rule',
    'Last error:',
  ]);
  await page.close();
});

test('the workflow list, with the indicator columns, names each indicator and its status', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${server.uiUrl}/namespaces/default/workflows`);
  await waitForTexts(page, [scene.live.workflowId]);
  await showIndicatorColumns(page);
  await waitForTexts(page, [...scene.all.map((indicator) => indicator.name), 'invalid-rule', 'inactive']);
  await page.close();
});
