/**
 * Regenerates the README's two Web UI screenshots (`npx tsx docs/web-ui/screenshots.ts`): the
 * workflow list with the indicator columns, and one indicator's workflow page with its summary,
 * details and current details. Same scene as the browser test (test/e2e/web-ui.test.ts): a dev
 * server with its UI, the emulators, the worker and the starter; needs Debian's chromium.
 */
import path from 'node:path';
import { launchChromium } from '../../test/support/browser';
import { Stack } from '../../test/support/stack';
import { playScene, showIndicatorColumns, startTemporalWithUi, waitForTexts, workflowPageUrl } from '../../test/support/web-ui';

const OUT = __dirname;

async function main(): Promise<void> {
  const browser = await launchChromium();
  const server = await startTemporalWithUi();
  const stack = await Stack.start(server);
  try {
    const scene = await playScene(stack);
    const page = await browser.newPage({ viewport: { width: 1400, height: 760 } });

    await page.goto(`${server.uiUrl}/namespaces/default/workflows`);
    await waitForTexts(page, [scene.live.workflowId]);
    await showIndicatorColumns(page, ['Run ID', 'Type', 'End']);
    await waitForTexts(
      page,
      scene.all.map((indicator) => indicator.name),
    );
    await page.setViewportSize({ width: 1760, height: 560 });
    await page.screenshot({ path: path.join(OUT, 'workflow-list.png') });
    await page.setViewportSize({ width: 1400, height: 760 });

    await page.goto(workflowPageUrl(server.uiUrl, scene.live.workflowId));
    await waitForTexts(page, ['create ruleset ACME_Loader_Strings']);
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    await waitForTexts(page, ['YARA indicator ACME_Loader_Strings', 'ACME_Loader_Strings: active']);
    await page.screenshot({ path: path.join(OUT, 'workflow-page.png') });
    process.stdout.write(`wrote ${path.join(OUT, 'workflow-list.png')} and ${path.join(OUT, 'workflow-page.png')}\n`);
  } finally {
    await browser.close();
    await stack.stop();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`screenshots failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
