/**
 * The connector's own GraphQL documents against the emulator's schema (the platform's SDL
 * for the connector operations): a misspelled field, argument or variable type in
 * starter/opencti-api.ts fails here, before any end-to-end run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, validate } from 'graphql';
import { OPENCTI_GRAPHQL_SCHEMA } from '../../emulators/opencti';
import { GRAPHQL_DOCUMENTS } from '../../starter/opencti-api';

test('the starter sends at least its registration and ping documents', () => {
  assert.deepEqual(Object.keys(GRAPHQL_DOCUMENTS).sort(), ['ping', 'register']);
});

for (const [name, document] of Object.entries(GRAPHQL_DOCUMENTS)) {
  test(`the starter's ${name} document validates against the OpenCTI schema`, () => {
    const errors = validate(OPENCTI_GRAPHQL_SCHEMA, parse(document));
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
    );
  });
}

test('the same check refuses a document with a typo (so the test above can fail)', () => {
  const typo = GRAPHQL_DOCUMENTS['ping']!.replace('connector_state', 'connector_stat');
  const errors = validate(OPENCTI_GRAPHQL_SCHEMA, parse(typo));
  assert.match(errors[0]?.message ?? '', /Cannot query field "connector_stat" on type "Connector"/);
  const wrongType = GRAPHQL_DOCUMENTS['register']!.replace('$input: RegisterConnectorInput', '$input: ConnectorInfoInput');
  assert.ok(validate(OPENCTI_GRAPHQL_SCHEMA, parse(wrongType)).length > 0, 'a variable of the wrong input type is refused');
});
