/**
 * The sizes the connector accepts from the stream before it hands anything to Temporal, and the
 * bounds it applies to what it writes there itself. Temporal refuses a payload over 2 MiB, a
 * workflow id over 1,000 characters, a string that is not valid UTF-8 and a search attribute value
 * over 2 KiB; a refused signal would stall the stream, and a refused search attribute terminates
 * the workflow that holds the ruleset. Checking here turns each of those into a clear, local
 * decision. Pure and dependency-free: imported by workflow code.
 */

/** VirusTotal refuses a ruleset whose rules text is over 1 MB; no need to carry one through Temporal. */
export const MAX_RULES_BYTES = 1024 * 1024;

/**
 * Budget for one event as the JSON Temporal stores (escaping can double a text): well under the
 * server's 2 MiB payload limit, with room for the envelope.
 */
export const MAX_EVENT_JSON_BYTES = 1536 * 1024;

/** OpenCTI internal ids are UUIDs; this leaves room for other forms and stays far below Temporal's 1,000. */
export const MAX_INTERNAL_ID_LENGTH = 256;

/** Temporal's limit for one search attribute value is 2 KiB; names are cut to this many UTF-8 bytes. */
export const MAX_SEARCH_ATTRIBUTE_BYTES = 1024;

/** Number of UTF-8 bytes of `text` (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Whether every surrogate is paired (what UTF-8, and so Temporal, can carry). */
export function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      if (i + 1 >= text.length || (text.charCodeAt(i + 1) & 0xfc00) !== 0xdc00) return false;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return false;
  }
  return true;
}

/** Lone surrogates replaced by U+FFFD, as an encoder would. */
export function toWellFormed(text: string): string {
  if (isWellFormed(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += text[i]! + text[i + 1]!;
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) out += '\ufffd';
    else out += text[i];
  }
  return out;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes on a character boundary, marked with an ellipsis when cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const clean = toWellFormed(text);
  if (utf8Length(clean) <= maxBytes) return clean;
  const budget = maxBytes - 3; // the ellipsis is 3 bytes
  let bytes = 0;
  let end = 0;
  for (const char of clean) {
    const size = utf8Length(char);
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return `${clean.slice(0, end)}…`;
}

/** Why an internal id cannot key a workflow, or undefined when it can. */
export function internalIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'is empty';
  if (id.length > MAX_INTERNAL_ID_LENGTH) return `is ${id.length} characters long (at most ${MAX_INTERNAL_ID_LENGTH})`;
  if (!isWellFormed(id)) return 'is not valid Unicode (a lone UTF-16 surrogate)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(id)) return 'contains a control or space character';
  return undefined;
}
