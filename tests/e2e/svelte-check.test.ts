import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { buildPortal } from './harness.ts';

/** The portal's Svelte and TypeScript compile without errors or warnings (svelte-check, strict). */
test('svelte-check reports no errors in the portal', async () => {
  await buildPortal();
  const portal = join(import.meta.dir, '..', '..', 'portal');
  const sync = Bun.spawnSync(['bun', 'x', 'svelte-kit', 'sync'], { cwd: portal, stdout: 'pipe', stderr: 'pipe' });
  expect(sync.exitCode).toBe(0);
  const check = Bun.spawn(['bun', 'x', 'svelte-check', '--tsconfig', './tsconfig.json', '--output', 'machine'], {
    cwd: portal,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [code, out] = await Promise.all([check.exited, new Response(check.stdout).text()]);
  const summary = out.split('\n').find((line) => line.includes('COMPLETED')) ?? out.slice(-2000);
  expect(summary).toMatch(/ 0 ERRORS 0 WARNINGS/);
  expect(code).toBe(0);
}, 180_000);
