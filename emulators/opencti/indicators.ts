/**
 * Builders of STIX 2.1 objects shaped the way OpenCTI 6.x converts them for the live stream
 * (`extensions.extension-definition--ea279b3e-…`): the OpenCTI core extension carries the internal id the connector must key
 * on, plus detection/score and the platform timestamps. Empty values are omitted, `false`
 * and `0` are kept, as the platform does.
 */
import { standardId } from './ids';

export const OPENCTI_EXTENSION = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';
export const MITRE_EXTENSION = 'extension-definition--322b8f77-262a-4cb8-a915-1e441e00329b';

/** The well-known STIX id of TLP:GREEN; the internal id is instance-specific, fixed here. */
export const TLP_GREEN_ID = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const TLP_GREEN_INTERNAL_ID = 'a5274501-0589-42bb-8cd8-957279118e42';

/** Internal id of the emulated platform user every event is attributed to. */
export const EMULATED_USER_ID = 'ab1f183f-2b6b-4b35-86a2-0938c23ceda1';

/** OpenCTI's default indicator score when none is given. */
const DEFAULT_SCORE = 50;
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

export interface IndicatorSpec {
  internalId?: string;
  name: string;
  pattern: string;
  patternType?: string;
  detection?: boolean;
  revoked?: boolean;
  score?: number;
  description?: string;
  labels?: string[];
}

export type StixObject = Record<string, unknown> & { id: string; type: string };

/** Platform timestamps; both default to now. `updatedAt` drives `modified` and `updated_at`. */
export interface ObjectTimes {
  createdAt?: string;
  updatedAt?: string;
}

function withoutEmpty(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)),
  );
}

function resolveTimes(times: ObjectTimes | undefined): { createdAt: string; updatedAt: string } {
  const now = new Date().toISOString();
  const createdAt = times?.createdAt ?? times?.updatedAt ?? now;
  return { createdAt, updatedAt: times?.updatedAt ?? createdAt };
}

export function indicatorStandardId(pattern: string): string {
  return standardId('indicator', { pattern });
}

export function buildYaraIndicator(spec: IndicatorSpec & { internalId: string }, times?: ObjectTimes): StixObject {
  const { createdAt, updatedAt } = resolveTimes(times);
  const validUntil = new Date(Date.parse(createdAt) + ONE_YEAR_MS).toISOString();
  const octi = withoutEmpty({
    extension_type: 'property-extension',
    id: spec.internalId,
    type: 'Indicator',
    created_at: createdAt,
    updated_at: updatedAt,
    is_inferred: false,
    creator_ids: [EMULATED_USER_ID],
    detection: spec.detection ?? true,
    score: spec.score ?? DEFAULT_SCORE,
    main_observable_type: 'StixFile',
  });
  const id = indicatorStandardId(spec.pattern);
  const core = withoutEmpty({
    id,
    spec_version: '2.1',
    type: 'indicator',
    created: createdAt,
    modified: updatedAt,
    revoked: spec.revoked ?? false,
    confidence: 100,
    lang: 'en',
    labels: spec.labels ? [...spec.labels] : undefined,
    object_marking_refs: [TLP_GREEN_ID],
    name: spec.name,
    description: spec.description,
    indicator_types: ['malicious-activity'],
    pattern_type: spec.patternType ?? 'yara',
    pattern: spec.pattern,
    valid_from: createdAt,
    valid_until: validUntil,
  });
  return {
    id,
    type: 'indicator',
    ...core,
    extensions: { [OPENCTI_EXTENSION]: octi, [MITRE_EXTENSION]: { extension_type: 'property-extension' } },
  };
}

/** TLP:GREEN as sent in `init-dependencies` frames before an object that references it. */
export function buildTlpGreenMarking(): StixObject {
  return {
    id: TLP_GREEN_ID,
    spec_version: '2.1',
    type: 'marking-definition',
    created: '2022-01-01T00:00:00.000Z',
    definition_type: 'TLP',
    name: 'TLP:GREEN',
    definition: { tlp: 'green' },
    extensions: {
      [OPENCTI_EXTENSION]: {
        extension_type: 'property-extension',
        id: TLP_GREEN_INTERNAL_ID,
        type: 'Marking-Definition',
        created_at: '2022-01-01T00:00:00.000Z',
        updated_at: '2022-01-01T00:00:00.000Z',
        is_inferred: false,
        color: '#2e7d32',
        order: 2,
      },
    },
  };
}

function buildDomainObject(
  stixType: string,
  octiType: string,
  internalId: string,
  identity: Record<string, unknown>,
  extra: Record<string, unknown>,
  times?: ObjectTimes,
): StixObject {
  const { createdAt, updatedAt } = resolveTimes(times);
  return {
    id: standardId(stixType, identity),
    spec_version: '2.1',
    type: stixType,
    created: createdAt,
    modified: updatedAt,
    revoked: false,
    confidence: 100,
    lang: 'en',
    ...extra,
    extensions: {
      [OPENCTI_EXTENSION]: {
        extension_type: 'property-extension',
        id: internalId,
        type: octiType,
        created_at: createdAt,
        updated_at: updatedAt,
        is_inferred: false,
        creator_ids: [EMULATED_USER_ID],
      },
    },
  };
}

export function buildMalware(internalId: string, name: string, times?: ObjectTimes): StixObject {
  return buildDomainObject('malware', 'Malware', internalId, { name }, { name, is_family: true }, times);
}

export function buildOrganization(internalId: string, name: string, times?: ObjectTimes): StixObject {
  const identityClass = 'organization';
  return buildDomainObject(
    'identity',
    'Organization',
    internalId,
    { name, identity_class: identityClass },
    { name, identity_class: identityClass },
    times,
  );
}

/** The OpenCTI core extension of any object, or undefined when absent. */
export function octiExtension(stix: Record<string, unknown>): Record<string, unknown> | undefined {
  const extensions = stix['extensions'];
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const octi = (extensions as Record<string, unknown>)[OPENCTI_EXTENSION];
  return typeof octi === 'object' && octi !== null ? (octi as Record<string, unknown>) : undefined;
}
