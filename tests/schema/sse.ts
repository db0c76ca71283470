/** A GraphQL subscription over Server-Sent Events, read the way a browser's client would. */

export type Subscription<T> = {
  /** The next `next` event's data, or a rejection after timeoutMs. */
  next(timeoutMs?: number): Promise<T>;
  close(): void;
};

export async function subscribe<T>(
  url: string,
  query: string,
  headers: Record<string, string>,
): Promise<Subscription<T>> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query }),
    signal: abort.signal,
  });
  if (!response.ok || !response.body)
    throw new Error(`subscription refused: ${response.status} ${await response.text()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const ready: T[] = [];
  let buffer = '';
  const pump = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) throw new Error('the event stream ended');
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n');
      if (event === 'next' && data) ready.push((JSON.parse(data) as { data: T }).data);
      end = buffer.indexOf('\n\n');
    }
  };
  return {
    async next(timeoutMs = 2_000) {
      const deadline = Date.now() + timeoutMs;
      while (ready.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
        await Promise.race([pump(), Bun.sleep(left).then(() => undefined)]);
      }
      return ready.shift() as T;
    },
    close: () => abort.abort(),
  };
}
