/**
 * `npm run demo [-- --exit-after-summary] [port flags]`: the first thing to run after `npm ci`.
 *
 * Starts both emulators in this process, runs the connector exactly as `npm start` does (a child
 * process with an embedded Temporal dev server), plays a few indicators through OpenCTI, waits
 * until VirusTotal and Temporal reflect them, prints what they now hold with links into the
 * Temporal Web UI, and keeps everything running until Ctrl-C.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { processEnvironment } from '../config';
import { startOpenCtiEmulator, type OpenCtiEmulator } from '../emulators/opencti';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../emulators/virustotal';
import { startConnector, type ConnectorProcess } from './connector';
import { prepareDataDir } from './data-dir';
import {
  connectorEnvironment,
  DEMO_NOTIFICATION_EMAILS,
  DEMO_SHARED_OWNERS,
  DEMO_VIRUSTOTAL_KEY,
  DEMO_VIRUSTOTAL_USER,
} from './environment';
import { holdsExactly, observe, workflowsSettled, type Observation } from './observe';
import { parseDemoOptions, USAGE, type DemoOptions } from './options';
import { takenPorts } from './ports';
import { afterCreates, atTheEnd, describeChanges, describeCreates, playChanges, playCreates, type PlayedIndicator } from './scenario';
import { formatSummary, workflowListUrl } from './summary';
import { waitUntil } from './wait';

const NAMESPACE = 'default';
/** The first run may provision the Temporal CLI (a download) before the dev server starts. */
const STARTUP_TIMEOUT_MS = 10 * 60_000;
const STEP_TIMEOUT_MS = 120_000;
const FORCE_AFTER_MS = 1_000;

const say = (line = '') => process.stdout.write(`${line}\n`);
const step = (line: string) => say(`[demo] ${line}`);

function shown(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : dir;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** Everything the demo started, stopped in reverse order whatever state the run got to. */
class DemoStack {
  opencti?: OpenCtiEmulator;
  vt?: VirusTotalEmulator;
  connector?: ConnectorProcess;
  client?: Client;
  private stopping?: Promise<number | null | undefined>;

  /** Resolves with the connector's exit code (undefined when it was never started). */
  shutdown(): Promise<number | null | undefined> {
    this.stopping ??= (async () => {
      await this.client?.connection.close().catch(() => undefined);
      const code = await this.connector?.stop();
      // The emulators go last: on SIGTERM the connector still saves its stream position in OpenCTI.
      await Promise.all([this.opencti?.close(), this.vt?.close()]);
      return code;
    })();
    return this.stopping;
  }
}

class DemoFailure extends Error {}

/** For a timeout message: what VirusTotal holds, and how far each ruleset got. */
function holding(vt: VirusTotalEmulator): string {
  const rulesets = vt.rulesets();
  if (rulesets.length === 0) return 'VirusTotal holds no ruleset';
  return `VirusTotal holds ${rulesets.map((r) => `${r.name} (${r.editors.length} editors)`).join(', ')}`;
}

async function run(options: DemoOptions, stack: DemoStack, startedAt: number): Promise<void> {
  const taken = await takenPorts([
    { port: options.openCtiPort, what: 'the OpenCTI emulator', flag: '--opencti-port' },
    { port: options.virusTotalPort, what: 'the VirusTotal emulator', flag: '--virustotal-port' },
    { port: options.temporalPort, what: 'the Temporal dev server', flag: '--temporal-port' },
    { port: options.uiPort, what: 'the Temporal Web UI', flag: '--ui-port' },
  ]);
  if (taken.length > 0) {
    throw new DemoFailure(
      [
        'ports already in use (is another `npm run demo`, `npm run emulators` or `npm start` still running?):',
        ...taken.map((use) => `  ${use.port} for ${use.what}: stop what holds it, or pass ${use.flag} N`),
      ].join('\n'),
    );
  }

  if (await prepareDataDir(options.dataDir))
    step(
      `Wiped the previous demo run's state in ${shown(options.dataDir)}: every run starts from empty emulators and an empty Temporal database.`,
    );

  stack.opencti = await startOpenCtiEmulator({ port: options.openCtiPort });
  stack.vt = await startVirusTotalEmulator({
    port: options.virusTotalPort,
    users: [{ apiKey: DEMO_VIRUSTOTAL_KEY, user: DEMO_VIRUSTOTAL_USER }],
  });
  const { opencti, vt } = stack;
  step(`OpenCTI emulator:    ${opencti.url}  (token ${opencti.token}, live stream ${opencti.streamId})`);
  step(`VirusTotal emulator: ${vt.url}  (API key ${DEMO_VIRUSTOTAL_KEY})`);

  const logFile = path.join(options.dataDir, 'connector.log');
  step(`Starting the connector as \`npm start\` does: embedded Temporal dev server, worker and starter. Its log: ${shown(logFile)}`);
  const env = connectorEnvironment(processEnvironment(), options, {
    openCtiUrl: opencti.url,
    openCtiToken: opencti.token,
    streamId: opencti.streamId,
    virusTotalUrl: vt.url,
  });
  const connector = startConnector({ env, logFile, notice: (line) => say(`[connector] ${line}`) });
  stack.connector = connector;
  const connectorGone = () => (connector.hasExited() ? `the connector exited; its last output:\n${connector.tail()}` : undefined);

  let startupTimer: NodeJS.Timeout | undefined;
  const webUiUrl = await Promise.race([
    connector.webUiUrl,
    new Promise<never>((_, reject) => {
      startupTimer = setTimeout(
        () => reject(new DemoFailure(`the connector did not start its Temporal dev server within ${STARTUP_TIMEOUT_MS / 60_000} minutes`)),
        STARTUP_TIMEOUT_MS,
      );
    }),
  ])
    .catch((error: unknown) => {
      throw new DemoFailure(`${(error as Error).message}${connector.tail() ? `; its last output:\n${connector.tail()}` : ''}`);
    })
    .finally(() => clearTimeout(startupTimer));
  step(`Temporal Web UI: ${workflowListUrl(webUiUrl, NAMESPACE)}`);

  stack.client = new Client({
    connection: await Connection.connect({ address: `127.0.0.1:${options.temporalPort}` }),
    namespace: NAMESPACE,
  });
  const client = stack.client;
  await waitUntil('the connector to open the OpenCTI live stream', () => opencti.connections() > 0, {
    timeoutMs: STEP_TIMEOUT_MS,
    abort: connectorGone,
  });
  step(`The connector is reading the live stream (${seconds(startedAt)} after start).`);

  const phaseOne = Date.now();
  const played: PlayedIndicator[] = playCreates(opencti);
  step(`Phase 1, in OpenCTI: ${describeCreates()}.`);
  const editors = DEMO_SHARED_OWNERS.length;
  const expectedFirst = afterCreates();
  await waitUntil(`VirusTotal to hold ${expectedFirst.size} shared rulesets`, () => holdsExactly(vt.rulesets(), expectedFirst, editors), {
    timeoutMs: STEP_TIMEOUT_MS,
    abort: connectorGone,
    seen: () => holding(vt),
  });
  const before = vt.rulesets();
  step(
    `VirusTotal holds ${before.length} rulesets, each e-mailing ${DEMO_NOTIFICATION_EMAILS.join(' and ')} and shared with ${DEMO_SHARED_OWNERS.join(' and ')} (${seconds(phaseOne)}).`,
  );

  const phaseTwo = Date.now();
  playChanges(opencti, played);
  step(`Phase 2, in OpenCTI: ${describeChanges()}.`);
  const now = await waitUntil<Observation>(
    'VirusTotal and the workflows to reflect phase 2',
    async () => {
      const observation = await observe(vt, client, played);
      return holdsExactly(observation.rulesets, atTheEnd(), editors) && workflowsSettled(observation, played) ? observation : undefined;
    },
    { timeoutMs: STEP_TIMEOUT_MS, everyMs: 300, abort: connectorGone, seen: () => holding(vt) },
  );
  step(`VirusTotal and the workflows reflect phase 2 (${seconds(phaseTwo)}).`);

  say();
  process.stdout.write(
    formatSummary({
      elapsedMs: Date.now() - startedAt,
      openCtiUrl: opencti.url,
      virusTotalUrl: vt.url,
      webUiUrl,
      namespace: NAMESPACE,
      played,
      before,
      now,
    }),
  );

  if (!options.exitAfterSummary) {
    const vtRoot = vt.url.replace(/\/api\/v3$/, '');
    say();
    say('Everything keeps running so you can look around; Ctrl-C stops it all. Things to try:');
    say('  - open the Web UI links above: each workflow shows the signals it received and the VirusTotal calls it made;');
    say('  - create an indicator in OpenCTI and watch its ruleset appear in VirusTotal:');
    say(`      curl -s -X POST ${opencti.url}/_emulator/indicators -H 'content-type: application/json' \\`);
    say(`        -d '{"name": "My_Rule", "pattern": "rule My_Rule { condition: true }", "detection": true}'`);
    say(`      curl -s ${vtRoot}/_emulator/rulesets`);
    say(`  - the connector's own log: ${shown(logFile)}`);
  }
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  let options: DemoOptions;
  try {
    options = parseDemoOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const stack = new DemoStack();
  let firstSignalAt: number | undefined;
  const interrupted = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C means "now": the connector's own shutdown is not waited for. A repeat
      // within a second is the same Ctrl-C relayed once more by npm and tsx, not a second one.
      if (firstSignalAt !== undefined) {
        if (Date.now() - firstSignalAt > FORCE_AFTER_MS) process.exit(130);
        return;
      }
      firstSignalAt = Date.now();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  let code = 0;
  try {
    const running = run(options, stack, startedAt).then(() => undefined);
    // After a Ctrl-C the run is abandoned; its waits then fail as the connector stops: not worth a report.
    running.catch(() => undefined);
    const outcome = await Promise.race([running, interrupted]);
    const signal = outcome ?? (options.exitAfterSummary ? undefined : await interrupted);
    say();
    step(
      signal
        ? `${signal}: stopping the connector (SIGTERM) and the emulators.`
        : 'Stopping (--exit-after-summary): the connector (SIGTERM) and the emulators.',
    );
  } catch (error) {
    code = 1;
    process.stderr.write(`[demo] failed: ${(error as Error).message}\n`);
    if (stack.connector) process.stderr.write(`[demo] the connector's full log: ${shown(path.join(options.dataDir, 'connector.log'))}\n`);
  }

  const connectorCode = await stack.shutdown();
  // After a failure the connector's exit was already part of the story.
  if (code === 0 && connectorCode !== undefined && connectorCode !== 0) {
    process.stderr.write(
      `[demo] the connector did not stop cleanly (exit ${connectorCode ?? 'by signal'}); see ${shown(path.join(options.dataDir, 'connector.log'))}\n`,
    );
    code ||= 1;
  }
  step(code === 0 ? 'Stopped.' : 'Stopped after a failure.');
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[demo] unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
