/**
 * The VirusTotal emulator in process for activity and client unit tests: one per test file,
 * wiped before each test. Its accounts: the connector's key, a colleague who shares rulesets
 * with it, and nobody else.
 */
import { after, before, beforeEach } from 'node:test';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';

export const CONNECTOR_KEY = 'vt-connector-key';
export const CONNECTOR_USER = 'connector';
export const COLLEAGUE_USER = 'analyst';

export function useVirusTotalEmulator(): () => VirusTotalEmulator {
  let emulator: VirusTotalEmulator | undefined;
  before(async () => {
    emulator = await startVirusTotalEmulator({
      users: [
        { apiKey: CONNECTOR_KEY, user: CONNECTOR_USER },
        { apiKey: 'vt-colleague-key', user: COLLEAGUE_USER },
      ],
    });
  });
  beforeEach(() => emulator?.reset());
  after(async () => {
    await emulator?.close();
  });
  return () => {
    if (!emulator) throw new Error('the VirusTotal emulator is not started (use it inside a test or hook)');
    return emulator;
  };
}
