import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { saveNoticeSettings } from '../../db/queries/notice-settings.ts';
import { PORTAL_URL, usd } from '../stripe/harness.ts';
import { mailTo, settle, startOutboxHarness, type OutboxHarness } from './harness.ts';
import { linkIn } from './smtp-server.ts';

/** Sign-up verification, password reset and account notices, delivered through a real SMTP server. */

let o: OutboxHarness;
beforeAll(async () => {
  o = await startOutboxHarness();
});
afterAll(() => o.close());

const PASSWORD = 'correct horse battery';
const SIGN_UP = `mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token account { id } } }`;
const VERIFY = 'mutation($t: String!) { verifyEmail(token: $t) }';
const VIEWER = '{ viewer { account { emailVerified balance { granted { usd } } } } }';

type SignedUp = { signUp: { token: string; account: { id: string } } };
type Viewer = { viewer: { account: { emailVerified: boolean; balance: { granted: { usd: string } } } } };

async function signUp(email: string): Promise<SignedUp['signUp']> {
  const result = await o.h.gql<SignedUp>(SIGN_UP, { e: email, p: PASSWORD });
  if (!result.data) throw new Error(`sign-up failed: ${JSON.stringify(result.errors)}`);
  return result.data.signUp;
}

function tokenOf(link: string | undefined): string {
  return new URL(link ?? 'http://x/').searchParams.get('token') ?? '';
}

describe('verification', () => {
  test('sign-up sends one verification e-mail whose link verifies the address, once', async () => {
    const person = await signUp('vera@example.com');
    const [mail, ...more] = await mailTo(o.smtp, 'vera@example.com');
    await settle();
    expect(more).toEqual([]);
    expect(o.smtp.messages.filter((m) => m.to.includes('vera@example.com'))).toHaveLength(1);
    expect(mail?.subject).toBe('Confirm your e-mail address for Tollgate');
    expect(mail?.raw).toContain('Content-Type: text/html');
    const link = mail ? linkIn(mail, `${PORTAL_URL}/verify?token=`) : undefined;
    expect(link).toBeDefined();
    const before = await o.h.gql<Viewer>(VIEWER, {}, person.token);
    expect(before.data?.viewer.account.emailVerified).toBe(false);
    expect((await o.h.gql<{ verifyEmail: boolean }>(VERIFY, { t: tokenOf(link) })).data?.verifyEmail).toBe(true);
    const after = await o.h.gql<Viewer>(VIEWER, {}, person.token);
    expect(after.data?.viewer.account.emailVerified).toBe(true);
    const again = await o.h.gql(VERIFY, { t: tokenOf(link) });
    expect(again.errors?.[0]?.extensions).toEqual({ code: 'INVALID_INPUT', field: 'token' });
    // Once mailed, the token is gone from the outbox; the database keeps only its hash.
    const kept = await o.h.sql<{ has_token: boolean; status: string }[]>`
      select payload ? 'token' as has_token, status from outbox where recipient = 'vera@example.com'`;
    expect([...kept]).toEqual([{ has_token: false, status: 'sent' }]);
  });

  test('with the credit policy, sign-up credit arrives only once the address is verified', async () => {
    await saveNoticeSettings(o.h.sql, o.h.root.id, {
      sender: null,
      verification: 'credit',
      signupCreditNanos: usd('2.50'),
    });
    try {
      const person = await signUp('cred@example.com');
      const before = await o.h.gql<Viewer>(VIEWER, {}, person.token);
      expect(before.data?.viewer.account.balance.granted.usd).toBe('0.00');
      const [mail] = await mailTo(o.smtp, 'cred@example.com');
      const token = tokenOf(mail ? linkIn(mail, `${PORTAL_URL}/verify?token=`) : undefined);
      await o.h.gql(VERIFY, { t: token });
      const after = await o.h.gql<Viewer>(VIEWER, {}, person.token);
      expect(after.data?.viewer.account.balance.granted.usd).toBe('2.50');
      expect(await o.h.violations()).toEqual([]);
    } finally {
      await saveNoticeSettings(o.h.sql, o.h.root.id, { sender: null, verification: 'off', signupCreditNanos: 0n });
    }
  });

  test('with the keys policy, an unverified customer cannot create a key until verified', async () => {
    await saveNoticeSettings(o.h.sql, o.h.root.id, { sender: null, verification: 'keys', signupCreditNanos: 0n });
    try {
      const person = await signUp('keys@example.com');
      const refused = await o.h.gql('mutation { createApiKey { key } }', {}, person.token);
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const [mail] = await mailTo(o.smtp, 'keys@example.com');
      await o.h.gql(VERIFY, { t: tokenOf(mail ? linkIn(mail, `${PORTAL_URL}/verify?token=`) : undefined) });
      const created = await o.h.gql<{ createApiKey: { key: string } }>(
        'mutation { createApiKey { key } }',
        {},
        person.token,
      );
      expect(created.data?.createApiKey.key).toStartWith('tg-');
    } finally {
      await saveNoticeSettings(o.h.sql, o.h.root.id, { sender: null, verification: 'off', signupCreditNanos: 0n });
    }
  });
});

const REQUEST_RESET = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
const RESET = 'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }';
const SIGN_IN = 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }';

async function resetRequest(email: string): Promise<string> {
  const response = await fetch(`${o.h.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: REQUEST_RESET, variables: { e: email } }),
  });
  return `${response.status} ${await response.text()}`;
}

describe('password reset', () => {
  test('an unknown address gets the same answer as a known one, and no e-mail', async () => {
    await signUp('known@example.com');
    const known = await resetRequest('known@example.com');
    const unknown = await resetRequest('nobody@example.com');
    expect(unknown).toBe(known);
    expect(known).toBe('200 {"data":{"requestPasswordReset":true}}');
    await mailTo(o.smtp, 'known@example.com', 2);
    await settle();
    expect(o.smtp.messages.filter((m) => m.to.includes('nobody@example.com'))).toEqual([]);
  });

  test('a reset link works once, signs out every session, and cannot be used again', async () => {
    const person = await signUp('reset@example.com');
    await resetRequest('reset@example.com');
    const mails = await mailTo(o.smtp, 'reset@example.com', 2);
    const resetMail = mails.find((m) => m.subject.startsWith('Reset your'));
    const token = tokenOf(resetMail ? linkIn(resetMail, `${PORTAL_URL}/reset?token=`) : undefined);
    expect(token).toStartWith('tgr-');
    const done = await o.h.gql<{ resetPassword: boolean }>(RESET, { t: token, p: 'a brand new password' });
    expect(done.data?.resetPassword).toBe(true);
    expect((await o.h.gql(VIEWER, {}, person.token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const signedIn = await o.h.gql<{ signIn: { token: string } }>(SIGN_IN, {
      e: 'reset@example.com',
      p: 'a brand new password',
    });
    expect(signedIn.data?.signIn.token).toStartWith('tgs-');
    const reuse = await o.h.gql(RESET, { t: token, p: 'yet another password' });
    expect(reuse.errors?.[0]?.extensions).toEqual({ code: 'INVALID_INPUT', field: 'token' });
    const notice = await mailTo(o.smtp, 'reset@example.com', 3);
    expect(notice.map((m) => m.subject)).toContain('Your Tollgate password was changed');
  });

  test('an expired reset link is refused', async () => {
    await signUp('late@example.com');
    await resetRequest('late@example.com');
    const mails = await mailTo(o.smtp, 'late@example.com', 2);
    const resetMail = mails.find((m) => m.subject.startsWith('Reset your'));
    const token = tokenOf(resetMail ? linkIn(resetMail, `${PORTAL_URL}/reset?token=`) : undefined);
    await o.h
      .sql`update account_tokens set created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
      where purpose = 'reset_password' and email = 'late@example.com'`;
    const late = await o.h.gql(RESET, { t: token, p: 'a brand new password' });
    expect(late.errors?.[0]?.extensions).toEqual({ code: 'INVALID_INPUT', field: 'token' });
  });

  test('reset links are throttled to three an hour per account, with the same answer', async () => {
    await signUp('flood@example.com');
    const answers = new Set<string>();
    for (let i = 0; i < 5; i++) answers.add(await resetRequest('flood@example.com'));
    expect([...answers]).toEqual(['200 {"data":{"requestPasswordReset":true}}']);
    await mailTo(o.smtp, 'flood@example.com', 4);
    await settle();
    const resets = o.smtp.messages.filter((m) => m.to.includes('flood@example.com') && m.subject.startsWith('Reset'));
    expect(resets).toHaveLength(3);
  });
});

describe('account notices', () => {
  test('creating a key mails its owner a notice naming the key', async () => {
    const person = await signUp('owner@example.com');
    const created = await o.h.gql<{ createApiKey: { apiKey: { publicId: string } } }>(
      'mutation { createApiKey(input: { name: "ci runner" }) { apiKey { publicId } } }',
      {},
      person.token,
    );
    const publicId = created.data?.createApiKey.apiKey.publicId ?? '';
    const mails = await mailTo(o.smtp, 'owner@example.com', 2);
    const notice = mails.find((m) => m.subject.startsWith('A new API key'));
    expect(notice?.text).toContain('"ci runner"');
    expect(notice?.text).toContain(publicId);
  });
});
