import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * The layout's one rule (docs/architecture.md, "Layout"): a folder imports only folders of a lower
 * rank, so pure code sits at the bottom, `db/` below everything that queries, and the HTTP runner and
 * the GraphQL schema at the top. Folders of one rank never import each other.
 */
const RANKS: Record<string, number> = {
  core: 0,
  app: 1,
  db: 2,
  upstream: 3,
  limits: 3,
  outbox: 3,
  ledger: 4,
  protocols: 4,
  cors: 4,
  notify: 4,
  billing: 5,
  plugins: 6,
  schema: 7,
  cli: 8,
  gateway: 8,
};
/** Tests, benchmarks and scripts may import anything; nothing imports them. */
const OUTSIDE = new Set(['tests', 'bench', 'scripts']);

const ROOT = join(import.meta.dir, '..');
const IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

type Violation = { file: string; imports: string; why: string };

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|svelte)$/.test(entry.name) ? [path] : [];
  });
}

/** Every import of `sources` (repo-relative path → text) that breaks the rule. */
export function layoutViolations(sources: Map<string, string>): Violation[] {
  const violations: Violation[] = [];
  for (const [file, text] of sources) {
    const from = file.split('/')[0] as string;
    for (const match of text.matchAll(IMPORT)) {
      const target = normalize(join(dirname(file), match[1] as string));
      const to = target.split('/')[0] as string;
      const imports = match[1] as string;
      if (from === 'portal') {
        if (to !== 'portal') violations.push({ file, imports, why: 'the portal talks to the server over HTTP only' });
        continue;
      }
      if (from === to || OUTSIDE.has(from)) continue;
      if (OUTSIDE.has(to)) violations.push({ file, imports, why: `${to}/ is not imported by the product` });
      else if (RANKS[from] === undefined) violations.push({ file, imports, why: `${from}/ has no rank` });
      else if (RANKS[to] === undefined) violations.push({ file, imports, why: `${to}/ has no rank` });
      else if ((RANKS[to] as number) >= (RANKS[from] as number))
        violations.push({
          file,
          imports,
          why: `${from}/ (rank ${RANKS[from]}) may not import ${to}/ (rank ${RANKS[to]})`,
        });
    }
  }
  return violations;
}

function productSources(): Map<string, string> {
  const folders = [...Object.keys(RANKS), 'portal/src'];
  const files = folders.flatMap(sourceFiles);
  return new Map(files.map((file) => [relative(ROOT, join(ROOT, file)), readFileSync(join(ROOT, file), 'utf8')]));
}

describe('the layout', () => {
  test('every import points down the ranks, and the portal imports no server code', () => {
    expect(layoutViolations(productSources())).toEqual([]);
  });

  test('a planted upward import is reported', () => {
    const sources = new Map<string, string>();
    sources.set('core/planted.ts', "import { startGateway } from '../gateway/server.ts';\n");
    sources.set('plugins/planted.ts', "import type { CompiledRoute } from '../gateway/pipeline.ts';\n");
    sources.set('portal/src/lib/planted.ts', "import { sql } from '../../../db/sql.ts';\n");
    expect(layoutViolations(sources).map((v) => v.file)).toEqual([
      'core/planted.ts',
      'plugins/planted.ts',
      'portal/src/lib/planted.ts',
    ]);
  });

  test('every top-level folder with code has a rank', () => {
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
      .map((entry) => entry.name)
      .filter((name) => sourceFiles(name).some((file) => file.endsWith('.ts')));
    const unranked = folders.filter((name) => RANKS[name] === undefined && !OUTSIDE.has(name) && name !== 'portal');
    expect(unranked).toEqual([]);
  });
});
