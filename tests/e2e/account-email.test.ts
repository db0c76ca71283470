import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { eventually } from '../gateway/harness.ts';
import { linkIn, startTestSmtp, type ReceivedMail, type TestSmtp } from '../outbox/smtp-server.ts';
import { screenshot, type Stack, STACK_START_TIMEOUT_MS, startStack } from './harness.ts';

/** The links of account e-mails, opened in a real browser against the built portal and a real SMTP server. */

let smtp: TestSmtp;
let stack: Stack;
let page: Page;
const EMAIL = 'grace@example.com';

beforeAll(async () => {
  smtp = await startTestSmtp();
  stack = await startStack({ SMTP_URL: smtp.url, SMTP_FROM: 'Tollgate <no-reply@tollgate.test>' });
  page = await stack.page();
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
  await smtp?.close();
});

async function mail(subjectStart: string): Promise<ReceivedMail> {
  const found = await eventually(
    async () => smtp.messages.find((m) => m.to.includes(EMAIL) && m.subject.startsWith(subjectStart)),
    (m) => m !== undefined,
    15_000,
  );
  if (!found) throw new Error(`no e-mail "${subjectStart}…" to ${EMAIL}`);
  return found;
}

test('the link of the sign-up e-mail confirms the address in the browser', async () => {
  await page.goto('/signup');
  await page.getByLabel('E-mail').fill(EMAIL);
  await page.getByLabel('Password').fill('a long enough password');
  await Promise.all([
    page.waitForURL('**/dashboard?welcome=1'),
    page.getByRole('button', { name: 'Create account' }).click(),
  ]);
  const link = linkIn(await mail('Confirm your e-mail'), `${stack.portalUrl}/verify?token=`);
  expect(link).toBeDefined();
  await page.goto(link ?? '');
  await expect(page.getByTestId('verified').textContent()).resolves.toContain('confirmed');
  await screenshot(page, 'verified');
  const [row] = await stack.sql<{ verified: boolean }[]>`
    select email_verified_at is not null as verified from accounts where email = ${EMAIL}`;
  expect(row?.verified).toBe(true);
  await page.goto(link ?? '');
  await expect(page.getByRole('alert').textContent()).resolves.toContain('not valid any more');
});

test('a forgotten password is reset through the mailed link, which works once', async () => {
  const fresh = await stack.page();
  await fresh.goto('/reset');
  await fresh.getByLabel('E-mail').fill(EMAIL);
  await fresh.getByRole('button', { name: 'Send me a link' }).click();
  await expect(fresh.getByRole('status').textContent()).resolves.toContain('If an account uses that address');
  const link = linkIn(await mail('Reset your'), `${stack.portalUrl}/reset?token=`);
  await fresh.goto(link ?? '');
  await fresh.getByLabel('New password').fill('another long password');
  await fresh.getByLabel('The same again').fill('another long password');
  await fresh.getByRole('button', { name: 'Set the new password' }).click();
  await expect(fresh.getByRole('status').textContent()).resolves.toContain('Your password is changed');
  await screenshot(fresh, 'password-reset');
  await fresh.goto('/signin');
  await fresh.getByLabel('E-mail').fill(EMAIL);
  await fresh.getByLabel('Password').fill('another long password');
  await Promise.all([fresh.waitForURL('**/dashboard'), fresh.getByRole('button', { name: 'Sign in' }).click()]);
  await fresh.goto(link ?? '');
  await fresh.getByLabel('New password').fill('a third long password');
  await fresh.getByLabel('The same again').fill('a third long password');
  await fresh.getByRole('button', { name: 'Set the new password' }).click();
  // The form's own alert: the page may show others (the shell's service notice).
  await fresh.getByRole('alert').filter({ hasText: 'not valid any more' }).waitFor();
}, 90_000);
