/** A real webhook receiver on 127.0.0.1 that records every delivery and answers what the test says. */

export type Received = { headers: Headers; body: string; path: string };

export type Receiver = {
  url: string;
  received: Received[];
  /** Statuses (or redirects) for the next deliveries, in order; 200 once they run out. */
  answers: (number | { redirect: string })[];
  close(): Promise<void>;
};

export function startReceiver(): Receiver {
  const received: Received[] = [];
  const answers: Receiver['answers'] = [];
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      received.push({ headers: request.headers, body: await request.text(), path: url.pathname });
      const answer = answers.shift() ?? 200;
      if (typeof answer !== 'number')
        return new Response(null, { status: 307, headers: { location: answer.redirect } });
      return new Response(answer === 200 ? 'ok' : 'receiver failed', { status: answer });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    received,
    answers,
    close: () => server.stop(true),
  };
}
