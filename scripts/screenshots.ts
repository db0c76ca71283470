/**
 * Screenshots of every portal page at desktop (1280 px) and phone (390 px) width, into
 * test-results/screenshots/NAME-desktop.png and NAME-phone.png: `bun scripts/screenshots.ts`.
 * `--publish` also writes them, as smaller JPEGs, to docs/screenshots/ with an index page there
 * (docs/screenshots/README.md, which the README links): run it after a change to the portal and
 * commit what it wrote.
 *
 * It runs the browser-test stack (tests/e2e/harness.ts: a real gateway over a fresh database, the
 * built portal, Debian's Chromium) over the showcase data (tests/e2e/showcase.ts). Without
 * TEST_DATABASE_URL it starts its own embedded PostgreSQL under .tollgate-test/screenshots and
 * stops it at the end. Each page's width is checked too: a page that scrolls sideways is listed
 * and the script exits non-zero.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.ts';
import { DESKTOP, PHONE, SCREENSHOTS, screenshot, signIn, startStack } from '../tests/e2e/harness.ts';
import { horizontalOverflow, seedShowcase, type Audience, type PortalPage } from '../tests/e2e/showcase.ts';
import { prepareTemplate } from '../tests/helpers.ts';

const REPO = resolve(import.meta.dir, '..');
const DATA_DIR = join(REPO, '.tollgate-test', 'screenshots');
const PUBLISHED = join(REPO, 'docs', 'screenshots');
/** JPEG quality of the published copies: readable text at a tenth of the PNG's size. */
const PUBLISHED_QUALITY = 70;
const publish = process.argv.includes('--publish');

const widthName = (width: number) => (width < 600 ? 'phone' : 'desktop');

async function publishShot(page: Page, name: string, width: number): Promise<void> {
  await page.screenshot({
    path: join(PUBLISHED, `${name}-${widthName(width)}.jpg`),
    fullPage: true,
    type: 'jpeg',
    quality: PUBLISHED_QUALITY,
  });
}

/** The index of the published screenshots: one row per page, each width linked. */
function gallery(pages: readonly PortalPage[], takenAt: Date): string {
  const link = (entry: PortalPage, width: number) => `[${width} px](${entry.name}-${widthName(width)}.jpg)`;
  const rows = pages.map(
    (entry) =>
      `| \`${entry.path}\` | ${entry.audience} | ${link(entry, DESKTOP.width)} | ${link(entry, PHONE.width)} |`,
  );
  return [
    '# Portal screenshots',
    '',
    `Every page of the portal at ${DESKTOP.width} px and ${PHONE.width} px wide, over the sample data of`,
    '`tests/e2e/showcase.ts` (a customer who has spent, keys with limits, a reseller, a monthly plan),',
    `taken ${takenAt.toISOString().slice(0, 10)} by \`bun scripts/screenshots.ts --publish\`,`,
    'which rewrites this folder.',
    '',
    '| page | seen by | desktop | phone |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The given PostgreSQL, or an embedded one of our own; the harness reads TEST_DATABASE_URL. */
async function database(): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given };
  const embedded = await startEmbeddedPostgres(join(DATA_DIR, 'postgres'), (line) => console.error(line));
  process.env.TEST_DATABASE_URL = embedded.url;
  return { url: embedded.url, embedded };
}

async function main(): Promise<number> {
  const { url, embedded } = await database();
  await prepareTemplate(url);
  const stack = await startStack();
  const wide: string[] = [];
  try {
    const showcase = await seedShowcase(stack);
    await mkdir(SCREENSHOTS, { recursive: true });
    if (publish) {
      await rm(PUBLISHED, { recursive: true, force: true });
      await mkdir(PUBLISHED, { recursive: true });
    }
    for (const viewport of [DESKTOP, PHONE]) {
      const contexts: Record<Audience, BrowserContext> = {
        public: await stack.context(viewport),
        customer: await stack.context(viewport),
        admin: await stack.context(viewport),
      };
      await signIn(await contexts.customer.newPage(), showcase.customer.email);
      await signIn(await contexts.admin.newPage(), showcase.admin.email);
      for (const entry of showcase.pages) {
        const page = await contexts[entry.audience].newPage();
        await page.goto(entry.path);
        await page.waitForLoadState('networkidle').catch(() => {});
        const { scrollWidth, innerWidth } = await horizontalOverflow(page);
        if (scrollWidth > innerWidth) wide.push(`${entry.path} at ${viewport.width} px: ${scrollWidth} px wide`);
        await screenshot(page, entry.name);
        if (publish) await publishShot(page, entry.name, viewport.width);
        await page.close();
      }
      await Promise.all(Object.values(contexts).map((context) => context.close()));
    }
    console.log(
      `screenshots of ${showcase.pages.length} pages at ${DESKTOP.width} and ${PHONE.width} px in ${SCREENSHOTS}`,
    );
    if (publish) {
      await writeFile(join(PUBLISHED, 'README.md'), gallery(showcase.pages, new Date()));
      console.log(`published as JPEGs with an index in ${PUBLISHED}`);
    }
  } finally {
    await stack.close();
    await embedded?.stop();
  }
  for (const line of wide) console.error(`scrolls sideways: ${line}`);
  return wide.length === 0 ? 0 : 1;
}

process.exit(await main());
