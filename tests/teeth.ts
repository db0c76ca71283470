/**
 * Proves the ledger tests have teeth (LEDGER-INVARIANTS.md): for each mutation in
 * tests/teeth/mutations.ts, its named test must pass on the real schema and fail on the broken
 * one. Run: `bun run tests/teeth.ts` (about a minute; each run starts its own PostgreSQL), or
 * `bun run tests/teeth.ts <name> …` for only the mutations named.
 */
import { resolve } from 'node:path';
import { MUTATIONS } from './teeth/mutations.ts';

const ROOT = resolve(import.meta.dir, '..');

async function run(file: string, test: string, mutation?: string): Promise<{ passed: number; failed: number }> {
  const child = Bun.spawn(['bun', '--no-orphans', 'run', 'tests/run.ts', file, '-t', test], {
    cwd: ROOT,
    env: { ...process.env, ...(mutation ? { TOLLGATE_TEST_MUTATION: mutation } : {}) },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  const counts = /(\d+) passed, (\d+) failed/.exec(`${out}\n${err}`);
  // A run that could not even count (the mutation failed to apply, say) counts as one failure.
  return counts ? { passed: Number(counts[1]), failed: Number(counts[2]) } : { passed: 0, failed: 1 };
}

const named = process.argv.slice(2);
const unknown = named.filter((name) => !MUTATIONS.some((m) => m.name === name));
if (unknown.length > 0)
  throw new Error(`unknown mutation ${unknown.join(', ')}; known: ${MUTATIONS.map((m) => m.name)}`);
const chosen = named.length > 0 ? MUTATIONS.filter((m) => named.includes(m.name)) : MUTATIONS;

let survivors = 0;
for (const mutation of chosen) {
  const intact = await run(mutation.file, mutation.test);
  const broken = await run(mutation.file, mutation.test, mutation.name);
  const ok = intact.failed === 0 && intact.passed > 0 && broken.failed > 0;
  if (!ok) survivors += 1;
  process.stdout.write(
    `${ok ? 'caught ' : 'MISSED '} ${mutation.name}: ${mutation.breaks}\n` +
      `         "${mutation.test}": intact ${intact.passed} passed ${intact.failed} failed; broken ${broken.passed} passed ${broken.failed} failed\n`,
  );
}
process.stdout.write(`${chosen.length - survivors} of ${chosen.length} mutations caught\n`);
process.exit(survivors === 0 ? 0 : 1);
