import { spawnSync } from 'node:child_process';
import { freePort } from '../../db/embedded.ts';

/** A dedicated redis-server on its own port, so a test can kill it and start it again on that port. */

const START_TIMEOUT_MS = 10_000;

export type TestRedis = { url: string; port: number; start(): Promise<void>; kill(): Promise<void> };

export async function dedicatedRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ReturnType<typeof Bun.spawn> | undefined;
  const server: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = Bun.spawn(
        ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdout: 'ignore', stderr: 'ignore' },
      );
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (Date.now() < deadline) {
        if (
          spawnSync('redis-cli', ['-p', String(port), 'ping'])
            .stdout?.toString()
            .trim() === 'PONG'
        )
          return;
        await Bun.sleep(25);
      }
      throw new Error(`redis-server did not start on port ${port}`);
    },
    async kill() {
      child?.kill('SIGKILL');
      await child?.exited;
      child = undefined;
    },
  };
  await server.start();
  return server;
}
