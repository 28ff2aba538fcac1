/**
 * Registers the workflow's custom search attributes when the namespace lacks them, so a fresh
 * server needs no manual step. On servers where the API refuses (Temporal Cloud manages them in
 * its own console), it says exactly what to add.
 */
import type { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Logger } from '../common/logger';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;

export async function ensureSearchAttributes(connection: NativeConnection, namespace: string, log: Logger): Promise<void> {
  const wanted = ALL_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, type: IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`] }));
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = { ...existing.customAttributes, ...existing.systemAttributes };
    const missing = wanted.filter((attribute) => !(attribute.name in known));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((attribute) => [attribute.name, attribute.type])),
    });
    log.info('registered search attributes', { namespace, added: missing.map((attribute) => attribute.name) });
  } catch (error) {
    // Temporal Cloud refuses this API (its console manages attributes); they may well exist.
    // Carry on: if they are really missing, workflow tasks fail visibly until they are added.
    log.error('could not check or register the search attributes; make sure the namespace has them', {
      namespace,
      attributes: ALL_SEARCH_ATTRIBUTES.map((key) => `${key.name} (${key.type})`),
      error: (error as Error).message,
    });
  }
}
