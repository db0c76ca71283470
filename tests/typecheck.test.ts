import { expect, test } from 'bun:test';
import { resolve } from 'node:path';

test('the whole project type-checks under strict TypeScript', () => {
  const result = Bun.spawnSync(['bun', 'x', 'tsc', '--noEmit', '-p', 'tsconfig.json'], {
    cwd: resolve(import.meta.dir, '..'),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const output = `${result.stdout.toString()}${result.stderr.toString()}`;
  expect(output).toBe('');
  expect(result.exitCode).toBe(0);
}, 120_000);
