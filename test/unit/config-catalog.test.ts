/**
 * config/settings.ts declares every configuration variable once. These tests hold the files
 * generated from it to the declarations, and the declarations to the validators they carry: a
 * default, a bound or a "mandatory" that the validator contradicts would be documented wrong.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { unknownFileKeys } from '../../config/file-keys';
import { flattenYaml } from '../../config/load';
import { GENERATE_COMMAND, generatedFiles } from '../../config/render/files';
import { connectorConfigSchema } from '../../config/render/opencti-metadata';
import { commonSchema } from '../../config/schema';
import { fileKeyOf, SETTINGS, type Group, type Literal, type Reader } from '../../config/settings';

const ROOT = path.resolve(__dirname, '../..');

/** The first line where two texts differ, to point at what changed. */
function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const e = expected.split('\n');
  const at = e.findIndex((line, i) => line !== a[i]);
  const line = at === -1 ? e.length : at;
  return `line ${line + 1}:\n  on disk:     ${JSON.stringify(a[line] ?? '(end of file)')}\n  regenerated: ${JSON.stringify(e[line] ?? '(end of file)')}`;
}

test('generated files: the README tables, config.yml.sample and __metadata__/ match config/settings.ts', () => {
  const stale = generatedFiles(ROOT)
    .map(({ file, content }) => ({ file, content, onDisk: readFileSync(path.join(ROOT, file), 'utf8') }))
    .filter(({ content, onDisk }) => content !== onDisk)
    .map(
      ({ file, content, onDisk }) =>
        `${file} is stale: run \`${GENERATE_COMMAND}\` (first difference at ${firstDifference(onDisk, content)})`,
    );
  if (stale.length > 0) assert.fail(stale.join('\n'));
});

const validated = SETTINGS.filter((declared) => declared.validator !== undefined);
const parse = (declared: (typeof validated)[number], value: string | undefined) => declared.validator!.safeParse(value);
/** A literal as the environment spells it: lists as JSON, as config/load.ts turns config.yml lists. */
const asText = (value: Literal) => (Array.isArray(value) ? JSON.stringify(value) : String(value));

test('declarations: mandatory exactly when the validator refuses an unset variable', () => {
  const wrong = validated.filter((declared) => parse(declared, undefined).success === declared.mandatory).map((declared) => declared.env);
  assert.deepEqual(wrong, []);
});

test('declarations: the documented default is what an unset variable becomes; none documented means none applied', () => {
  for (const declared of validated.filter((candidate) => !candidate.mandatory)) {
    const unset = parse(declared, undefined);
    assert.ok(unset.success, declared.env);
    if (declared.default === undefined) {
      assert.equal(unset.data, undefined, `${declared.env} has a default the declaration does not show`);
      continue;
    }
    const given = parse(declared, asText(declared.default));
    assert.ok(given.success, `${declared.env}: its documented default ${asText(declared.default)} is refused`);
    assert.deepEqual(unset.data, given.data, `${declared.env}: unset is not the same as the documented default`);
  }
});

test('declarations: documented bounds and choices are the ones the validator applies', () => {
  for (const declared of validated) {
    const { minimum, maximum, exclusiveMinimum } = declared.json;
    if (minimum !== undefined) {
      assert.ok(parse(declared, String(minimum)).success, `${declared.env} accepts ${minimum}`);
      assert.ok(!parse(declared, String(minimum - 1)).success, `${declared.env} refuses ${minimum - 1}`);
    }
    if (maximum !== undefined) {
      assert.ok(parse(declared, String(maximum)).success, `${declared.env} accepts ${maximum}`);
      assert.ok(!parse(declared, String(maximum + 1)).success, `${declared.env} refuses ${maximum + 1}`);
    }
    if (exclusiveMinimum !== undefined)
      assert.ok(!parse(declared, String(exclusiveMinimum)).success, `${declared.env} refuses ${exclusiveMinimum}`);
    for (const choice of declared.json.enum ?? []) assert.ok(parse(declared, choice).success, `${declared.env} accepts ${choice}`);
    if (declared.json.enum) assert.ok(!parse(declared, 'none-of-these').success, `${declared.env} refuses other values`);
    if (declared.json.type === 'boolean') assert.ok(!parse(declared, 'perhaps').success, `${declared.env} refuses a non-boolean`);
  }
});

/** The sections each role validates (config/load.ts: loadConfig). */
const VALIDATED_BY: Record<Reader, readonly Group[]> = {
  worker: ['common', 'network', 'temporal', 'virustotal'],
  starter: ['common', 'network', 'temporal', 'opencti', 'connector'],
  'embedded server': ['common', 'network', 'temporal', 'opencti', 'connector', 'virustotal'],
};

test('declarations: every process that reads a variable validates it at start-up', () => {
  const unchecked = SETTINGS.flatMap((declared) =>
    declared.readBy
      .filter((reader) => !VALIDATED_BY[reader].includes(declared.group))
      .map((reader) => `${declared.env} (${declared.group}) read by ${reader}`),
  );
  assert.deepEqual(unchecked, []);
});

test('declarations: one per variable, and each config.yml key is known and maps back to its variable', () => {
  const names = SETTINGS.flatMap((declared) => [declared.env, ...(declared.aliases ?? [])]);
  assert.equal(new Set(names).size, names.length, 'no variable declared twice');
  const document: Record<string, Record<string, string> | string> = {};
  for (const declared of SETTINGS) {
    const [section, key] = fileKeyOf(declared.env).split('.');
    if (key === undefined) document[section!] = 'x';
    else document[section!] = { ...(document[section!] as Record<string, string> | undefined), [key]: 'x' };
  }
  assert.deepEqual(unknownFileKeys(document), []);
  assert.deepEqual(Object.keys(flattenYaml(document)).sort(), SETTINGS.map((declared) => declared.env).sort());
  assert.deepEqual(unknownFileKeys({ connector: { metrics_prot: 1 } }), [
    'connector.metrics_prot: is not a setting of this connector (did you mean connector.metrics_port?)',
  ]);
});

test('catalog schema: secrets are write-only passwords, the mandatory variables are required, defaults have the declared type', () => {
  const schema = connectorConfigSchema() as {
    properties: Record<string, { type: string; default?: unknown; format?: string; writeOnly?: boolean }>;
    required: string[];
  };
  for (const declared of SETTINGS) {
    const property = schema.properties[declared.env]!;
    assert.equal(
      property.format === 'password' && property.writeOnly === true,
      declared.secret,
      `${declared.env}: password exactly when secret`,
    );
    if (property.default !== undefined) {
      const kind = Array.isArray(property.default)
        ? 'array'
        : typeof property.default === 'number'
          ? Number.isInteger(property.default)
            ? 'integer'
            : 'number'
          : typeof property.default;
      assert.equal(kind, property.type, `${declared.env}: default of the declared type`);
    }
  }
  assert.deepEqual(schema.required, [
    'OPENCTI_URL',
    'OPENCTI_TOKEN',
    'CONNECTOR_ID',
    'CONNECTOR_LIVE_STREAM_ID',
    'VIRUSTOTAL_LIVEHUNT_TOKEN',
    'VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS',
  ]);
});

test('metrics variables: validated by every role, off on port 9095 by default, a port from 1 to 65535', () => {
  assert.deepEqual(commonSchema.parse({}), { CONNECTOR_LOG_LEVEL: 'info', CONNECTOR_EXPOSE_METRICS: false, CONNECTOR_METRICS_PORT: 9095 });
  assert.deepEqual(commonSchema.parse({ CONNECTOR_EXPOSE_METRICS: 'true', CONNECTOR_METRICS_PORT: '9096' }).CONNECTOR_METRICS_PORT, 9096);
  const problems = commonSchema.safeParse({ CONNECTOR_EXPOSE_METRICS: 'perhaps', CONNECTOR_METRICS_PORT: '65536' });
  assert.deepEqual(
    problems.error?.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`),
    ['CONNECTOR_EXPOSE_METRICS: must be true or false', 'CONNECTOR_METRICS_PORT: must be an integer from 1 to 65535'],
  );
});
