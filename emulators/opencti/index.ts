/**
 * OpenCTI emulator: the live stream (SSE) and the GraphQL operations a stream connector
 * uses, following shared/reference/opencti-live-stream.md. Used by tests, the demo and the
 * benchmarks; drive it in-process through this API or over HTTP under `/_emulator/`.
 */
export type { OpenCtiEmulator, OpenCtiEmulatorOptions, ConnectorSummary } from './api';
export type { IndicatorSpec, StixObject, ObjectTimes } from './indicators';
export type { StreamRequestRecord } from './stream';
export {
  OPENCTI_EXTENSION,
  MITRE_EXTENSION,
  TLP_GREEN_ID,
  buildYaraIndicator,
  buildTlpGreenMarking,
  indicatorStandardId,
} from './indicators';
export { startOpenCtiEmulator, DEFAULT_TOKEN, DEFAULT_ADMIN_TOKEN, DEFAULT_STREAM_ID, DEFAULT_HEARTBEAT_MS } from './server';
export { REASON_NOT_AUTHENTICATED, REASON_NOT_AUTHORIZED, REASON_STOPPED } from './stream';
export { SCHEMA as OPENCTI_GRAPHQL_SCHEMA } from './graphql-schema';
export { EMULATED_PLATFORM_VERSION } from './graphql';
export { UnknownObjectError, InvalidChangeError } from './knowledge';
