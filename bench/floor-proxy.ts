/**
 * The floor: a do-nothing Bun pass-through proxy. It forwards the request to the upstream and the
 * answer back, streaming, with no authentication, limits or money. Nothing Bun-based can be faster.
 */
const upstream = process.argv[2];
if (!upstream) throw new Error('usage: bun bench/floor-proxy.ts UPSTREAM_BASE_URL');
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  idleTimeout: 255,
  async fetch(request) {
    const path = new URL(request.url).pathname.replace(/^\/v1/, '');
    const response = await fetch(`${upstream}${path}`, {
      method: request.method,
      headers: { 'content-type': 'application/json' },
      body: await request.arrayBuffer(),
    });
    return new Response(response.body, {
      status: response.status,
      headers: { 'content-type': response.headers.get('content-type') ?? 'application/json' },
    });
  },
});
process.stdout.write(`http://127.0.0.1:${server.port}\n`);
