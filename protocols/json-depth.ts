/**
 * How deep a request body may nest arrays and objects. Far above any real request (a message's
 * content parts sit at depth 4, a tool's JSON schema adds two levels per nested property), and
 * low enough that every walk of a parsed body (the prompt bound, JSON.stringify when forwarding)
 * stays far from the stack limit: 100k levels of content parts made them throw (500), and 1M
 * levels cost JSON.parse itself over a second.
 */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The index of the quote that closes the string opened just before `from`, or -1. */
function stringEnd(text: string, from: number): number {
  let at = text.indexOf('"', from);
  while (at !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = text.indexOf('"', at + 1);
  }
  return -1;
}

/**
 * Whether the JSON text nests arrays and objects deeper than `maxDepth`, found before any parse.
 * Exact for valid JSON: structure is ASCII, and strings are skipped with the engine's native
 * search for their closing quote, so long string content (base64 images) costs almost nothing.
 * It reads the decoded text rather than the bytes: the body parser decodes it anyway, and on the
 * same bodies a scan of the Uint8Array was slower (a 27 KB agent conversation: 45 µs against
 * 30 µs, where JSON.parse takes 80 µs). On invalid JSON the answer does not matter: the parse
 * that follows refuses it.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = stringEnd(text, i + 1);
      if (i === -1) return false;
    } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) depth--;
  }
  return false;
}
