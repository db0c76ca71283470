/**
 * Splits an SSE byte stream into its events, however the bytes are cut: a chunk may end inside a
 * line, inside a UTF-8 character or between the two newlines of a boundary.
 */

export type SseEvent = { kind: 'data'; data: string } | { kind: 'comment'; text: string };

/** An event longer than this without a boundary is not SSE; the translator stops there. */
export const MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

export class SseEventReader {
  readonly #decoder = new TextDecoder();
  #buffer = '';

  /** The events completed by `chunk`; `undefined` when the pending event grew past the bound. */
  push(chunk: Uint8Array): SseEvent[] | undefined {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    return this.#drain();
  }

  /** The events left at the end of the stream, the last one even without its blank line. */
  end(): SseEvent[] {
    this.#buffer += `${this.#decoder.decode()}\n\n`;
    return this.#drain() ?? [];
  }

  #drain(): SseEvent[] | undefined {
    if (this.#buffer.includes('\r')) {
      // A lone CR at the end may be the first half of a CRLF: keep it for the next chunk.
      const keep = this.#buffer.endsWith('\r') ? '\r' : '';
      this.#buffer = this.#buffer.slice(0, this.#buffer.length - keep.length).replace(/\r\n?/g, '\n') + keep;
    }
    const events: SseEvent[] = [];
    let boundary = this.#buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const event = parseEvent(this.#buffer.slice(0, boundary));
      if (event) events.push(event);
      this.#buffer = this.#buffer.slice(boundary + 2);
      boundary = this.#buffer.indexOf('\n\n');
    }
    return this.#buffer.length > MAX_SSE_EVENT_CHARS ? undefined : events;
  }
}

function parseEvent(block: string): SseEvent | undefined {
  const data: string[] = [];
  let comment: string | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith('data:')) data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
    else if (line.startsWith(':')) comment ??= line.slice(1).trim();
  }
  if (data.length > 0) return { kind: 'data', data: data.join('\n') };
  return comment === undefined ? undefined : { kind: 'comment', text: comment };
}
