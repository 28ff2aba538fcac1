/**
 * What every entry point says once at start-up about its configuration: the doubtful settings it
 * accepted, and the way out to HTTP services when it is not direct.
 */
import type { NetworkSettings } from '../config/load';
import { describeProxy, usesProxy } from './http';
import type { Logger } from './logger';

export function logStartupNotes(config: { warnings: string[]; network: NetworkSettings }, log: Logger): void {
  for (const warning of config.warnings) log.warn(warning);
  if (usesProxy(config.network.proxy))
    log.info(
      'HTTP requests to OpenCTI and VirusTotal go through a proxy (Temporal connections do not)',
      describeProxy(config.network.proxy),
    );
}
