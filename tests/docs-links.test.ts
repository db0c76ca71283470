import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Every relative link in README.md and docs/*.md must land on a file that exists and, when it names
 * a `#fragment`, on a heading of that file (GitHub's anchor rules). No network: absolute URLs are
 * not followed.
 */

const ROOT = resolve(import.meta.dir, '..');
const LINK = /!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/** The text outside fenced code blocks, where a `#` line is a heading. */
function outsideFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** Text outside fenced code blocks and inline code spans, where a link is really a link. */
function proseOf(markdown: string): string {
  return outsideFences(markdown).replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of outsideFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (match[1] ?? '').replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** One line per link of `file` that does not resolve, e.g. `docs/a.md: missing.md (no such file)`. */
function brokenLinksOf(file: string, root: string): string[] {
  const markdown = readFileSync(file, 'utf8');
  const name = file.slice(root.length + 1);
  const broken: string[] = [];
  for (const match of proseOf(markdown).matchAll(LINK)) {
    const target = match[1] ?? '';
    if (EXTERNAL.test(target)) continue;
    const [pathPart = '', fragment] = target.split('#', 2);
    const path = decodeURIComponent(pathPart);
    const destination = path === '' ? file : resolve(dirname(file), path);
    if (!existsSync(destination)) {
      broken.push(`${name}: ${target} (no such file)`);
      continue;
    }
    if (fragment === undefined || !destination.endsWith('.md')) continue;
    if (!headingAnchors(readFileSync(destination, 'utf8')).has(fragment))
      broken.push(`${name}: ${target} (no such heading)`);
  }
  return broken;
}

function documentationFiles(root: string): string[] {
  const docs = join(root, 'docs');
  const inDocs = existsSync(docs)
    ? readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(docs, f))
    : [];
  return [join(root, 'README.md'), ...inDocs].filter((f) => existsSync(f));
}

function brokenLinks(root: string): string[] {
  return documentationFiles(root).flatMap((file) => brokenLinksOf(file, root));
}

describe('documentation links', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tollgate-docs-links-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('every relative link in README.md and docs/*.md reaches an existing file and heading', () => {
    expect(documentationFiles(ROOT).length).toBeGreaterThan(5);
    expect(brokenLinks(ROOT)).toEqual([]);
  });

  test('a link to a missing file, a missing heading or a missing local heading is reported, while code and URLs are ignored', () => {
    const root = join(scratch, 'broken');
    const docs = join(root, 'docs');
    mkdirSync(docs, { recursive: true });
    writeFileSync(
      join(root, 'README.md'),
      '# Top\n[ok](docs/a.md#browser-access-cors) [gone](docs/gone.md) [web](https://example.com/x.md)\n',
    );
    writeFileSync(
      join(docs, 'a.md'),
      '# A\n## Browser access (CORS)\n[bad anchor](../README.md#nowhere) [self](#a) [self missing](#b)\n```\n[in code](missing.md)\n```\n`[span](missing.md)`\n',
    );
    expect(brokenLinks(root)).toEqual([
      'README.md: docs/gone.md (no such file)',
      'docs/a.md: ../README.md#nowhere (no such heading)',
      'docs/a.md: #b (no such heading)',
    ]);
  });

  test('heading anchors follow GitHub: punctuation dropped, code marks removed, repeated headings numbered', () => {
    const anchors = headingAnchors(
      '# Settlement policy (what customers are charged)\n## `GET /v1/key`\n## Notes\n## Notes\n',
    );
    expect([...anchors]).toEqual(['settlement-policy-what-customers-are-charged', 'get-v1key', 'notes', 'notes-1']);
  });

  test('README.md and docs/quick-start.md point readers to the API reference and the troubleshooting guide', () => {
    for (const file of ['README.md', 'docs/quick-start.md']) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      expect(text).toMatch(/\]\((docs\/)?API\.md\)/);
      expect(text).toMatch(/\]\((docs\/)?TROUBLESHOOTING\.md\)/);
    }
  });
});
