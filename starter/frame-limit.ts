/**
 * Bounds what one live-stream frame may cost. The SSE parser (inside the eventsource library)
 * accumulates a frame until its blank line, so a frame that never ends, or a 700 MB `data:` line,
 * would be held whole in memory. This wraps the response body: it counts the bytes since the
 * last frame boundary and, past the limit, ends the body cleanly at that point (the frames before
 * it are still delivered; the parser drops the unfinished one) and cancels the connection.
 */

/** The largest frame read from the live stream. An indicator's frame is a few KB (VirusTotal caps a ruleset at 1 MB). */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** Bytes kept from the start of each frame, to name the frame (its `id:` line comes first). */
const HEAD_BYTES = 1024;

const LF = 0x0a;
const CR = 0x0d;

export interface OversizedFrame {
  /** The frame's `id:` when it was among its first bytes. */
  frameId?: string;
  /** Bytes of the frame read when it was cut. */
  bytesRead: number;
}

/** The `id:` field of a frame's first bytes (SSE field syntax: one optional space after the colon). */
export function frameIdOf(head: string): string | undefined {
  for (const line of head.split(/\r\n|\r|\n/)) {
    if (line === 'id' || line.startsWith('id:')) return line.slice(3).replace(/^ /, '');
  }
  return undefined;
}

/**
 * `body` with every frame bounded to `maxBytes`; `onOversized` is told (once) when a frame
 * passes it, before the shortened body ends.
 */
export function limitFrames(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  onOversized: (frame: OversizedFrame) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let frameBytes = 0;
  let atLineStart = true;
  let afterCr = false;
  let head: Uint8Array[] = [];
  let headBytes = 0;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Uint8Array;
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          chunk = value;
        } catch (error) {
          controller.error(error);
          return;
        }
        let frameStart = 0;
        for (let i = 0; i < chunk.length; i++) {
          const byte = chunk[i]!;
          if (byte === LF && afterCr) {
            // The LF of a CRLF: part of the terminator already counted.
            afterCr = false;
            continue;
          }
          if (byte === LF || byte === CR) {
            afterCr = byte === CR;
            if (atLineStart) {
              // An empty line: the frame is complete.
              frameBytes = 0;
              frameStart = i + 1;
              head = [];
              headBytes = 0;
              continue;
            }
            atLineStart = true;
          } else {
            atLineStart = false;
            afterCr = false;
          }
          frameBytes++;
          if (frameBytes > maxBytes) {
            if (headBytes < HEAD_BYTES) head.push(chunk.subarray(frameStart, Math.min(i, frameStart + HEAD_BYTES - headBytes)));
            // Whatever came before, complete frames included, still reaches the parser.
            if (i > 0) controller.enqueue(chunk.subarray(0, i));
            onOversized({ frameId: frameIdOf(new TextDecoder().decode(concat(head).subarray(0, HEAD_BYTES))), bytesRead: frameBytes });
            controller.close();
            await reader.cancel().catch(() => undefined);
            return;
          }
        }
        if (headBytes < HEAD_BYTES && frameStart < chunk.length) {
          const part = chunk.subarray(frameStart, Math.min(chunk.length, frameStart + HEAD_BYTES - headBytes));
          head.push(part);
          headBytes += part.length;
        }
        controller.enqueue(chunk);
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => undefined);
      },
    },
    // Pulled only as fast as the parser reads: nothing piles up here either.
    { highWaterMark: 0 },
  );
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
