/** Runs wrk and reads its numbers; measures streaming time to first byte with sequential requests. */

export type WrkResult = { requestsPerSecond: number; p50Ms: number; p99Ms: number; errors: number };

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!match) return Number.NaN;
  const amount = Number(match[1]);
  const unit = match[2];
  return unit === 'us' ? amount / 1000 : unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000;
}

export async function runWrk(url: string, script: string, connections: number, seconds: number): Promise<WrkResult> {
  const threads = Math.min(connections, 2);
  const child = Bun.spawn(
    ['wrk', `-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  const output = await new Response(child.stdout).text();
  await child.exited;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
  const p50 = /\n\s+50%\s+(\S+)/.exec(output)?.[1];
  const p99 = /\n\s+99%\s+(\S+)/.exec(output)?.[1];
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1];
  if (!rps || !p50 || !p99) throw new Error(`could not read wrk's output:\n${output}`);
  return { requestsPerSecond: Number(rps), p50Ms: toMs(p50), p99Ms: toMs(p99), errors: Number(non2xx ?? '0') };
}

export async function measureTtfb(
  url: string,
  headers: Record<string, string>,
  body: object,
  samples: number,
): Promise<number> {
  const times: number[] = [];
  const payload = JSON.stringify(body);
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers, body: payload });
    const reader = response.body?.getReader();
    await reader?.read();
    times.push(performance.now() - started);
    while (reader && !(await reader.read()).done);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}
