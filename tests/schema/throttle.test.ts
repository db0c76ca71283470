import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { parseAddressRange, type AddressRange } from '../../core/ip-address.ts';
import { ACCOUNT_THROTTLE, ADDRESS_THROTTLE, clientAddress, SIGN_UP_THROTTLE } from '../../schema/throttle.ts';
import { codes, PASSWORD, startApi, type ApiHarness, type GqlResult } from './harness.ts';

/**
 * Sign-in and sign-up abuse: attempts counted per account and per client address in PostgreSQL,
 * an exponential delay past the free failures, then a lockout; sign-up that does not tell whether
 * an address is registered; and a password policy that refuses the commonest passwords.
 */

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const SIGN_IN = 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }';
const SIGN_UP = 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token account { email } } }';
let addresses = 0;
/** A fresh client address per test, forwarded by the harness's loopback peer (trusted by default). */
const newAddress = () => `203.0.113.${++addresses}`;

function signIn(email: string, password: string, address: string): Promise<GqlResult> {
  return api.gql(SIGN_IN, { e: email, p: password }, { headers: { 'x-forwarded-for': address } });
}

const retryAfter = (result: GqlResult) =>
  (result.errors?.[0]?.extensions as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;

/**
 * The clock, moved by hand: a password check takes long on a busy machine, so a test says when
 * an attempt comes "at once" after the last failure and when some time has passed.
 */
async function atOnce(): Promise<void> {
  await api.sql`update sign_in_throttle set last_failure_at = now()`;
}

/** Every counter as if `seconds` had passed since its last failure (and of its lockout). */
async function pass(seconds: number): Promise<void> {
  await api.sql`update sign_in_throttle set last_failure_at = last_failure_at - make_interval(secs => ${seconds}),
    locked_until = locked_until - make_interval(secs => ${seconds})`;
}

describe('sign-in throttling', () => {
  test('a burst of wrong passwords gets the free failures, then every attempt waits, in parallel too', async () => {
    const { account } = await api.person(api.root);
    const address = newAddress();
    const results = await Promise.all(
      Array.from({ length: 30 }, () => signIn(account.email, 'wrong password', address)),
    );
    const answered = results.map((r) => codes(r)[0]);
    // All 30 are counted within a moment; one more may slip in where that moment exceeds the first delay.
    const wrong = answered.filter((c) => c === 'UNAUTHENTICATED').length;
    expect(wrong).toBeGreaterThanOrEqual(ACCOUNT_THROTTLE.freeFailures);
    expect(wrong).toBeLessThanOrEqual(ACCOUNT_THROTTLE.freeFailures + 1);
    expect(answered.filter((c) => c === 'TOO_MANY_ATTEMPTS')).toHaveLength(30 - wrong);
    await atOnce();
    const right = await signIn(account.email, PASSWORD, address);
    expect(codes(right)).toEqual(['TOO_MANY_ATTEMPTS']);
    expect(retryAfter(right)).toBeGreaterThanOrEqual(ACCOUNT_THROTTLE.baseDelaySeconds);
  }, 120_000);

  test('the delay doubles with each failure, then a lockout refuses even the right password until it ends', async () => {
    const { account } = await api.person(api.root);
    const address = newAddress();
    for (let i = 0; i < ACCOUNT_THROTTLE.freeFailures; i++)
      expect(codes(await signIn(account.email, 'wrong password', address))).toEqual(['UNAUTHENTICATED']);
    const waits: (number | undefined)[] = [];
    for (let failures = ACCOUNT_THROTTLE.freeFailures; failures < ACCOUNT_THROTTLE.lockoutFailures; failures++) {
      await atOnce();
      waits.push(retryAfter(await signIn(account.email, 'wrong password', address)));
      await pass(ACCOUNT_THROTTLE.maxDelaySeconds);
      expect(codes(await signIn(account.email, 'wrong password', address))).toEqual(['UNAUTHENTICATED']);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16]);
    const locked = await signIn(account.email, PASSWORD, address);
    expect(codes(locked)).toEqual(['TOO_MANY_ATTEMPTS']);
    expect(retryAfter(locked)).toBeGreaterThan(ACCOUNT_THROTTLE.lockoutSeconds - 5);
    await pass(ACCOUNT_THROTTLE.maxDelaySeconds * 2);
    expect(codes(await signIn(account.email, PASSWORD, address))).toEqual(['TOO_MANY_ATTEMPTS']);
    await pass(ACCOUNT_THROTTLE.lockoutSeconds);
    expect((await signIn(account.email, PASSWORD, address)).errors).toBeUndefined();
  }, 120_000);

  test("a success clears the account's count, and an unknown e-mail is throttled just like a known one", async () => {
    const { account } = await api.person(api.root);
    const address = newAddress();
    for (let i = 0; i < ACCOUNT_THROTTLE.freeFailures - 1; i++) await signIn(account.email, 'wrong password', address);
    expect((await signIn(account.email, PASSWORD, address)).errors).toBeUndefined();
    for (let i = 0; i < ACCOUNT_THROTTLE.freeFailures; i++)
      expect(codes(await signIn(account.email, 'wrong password', address))).toEqual(['UNAUTHENTICATED']);
    const unknown = 'nobody-here@root.example';
    for (let i = 0; i < ACCOUNT_THROTTLE.freeFailures; i++)
      expect(codes(await signIn(unknown, 'wrong password', address))).toEqual(['UNAUTHENTICATED']);
    await atOnce();
    expect(codes(await signIn(unknown, 'wrong password', address))).toEqual(['TOO_MANY_ATTEMPTS']);
  }, 120_000);

  test('one client address trying many accounts is throttled; another address is not', async () => {
    const address = newAddress();
    for (let i = 0; i < ADDRESS_THROTTLE.freeFailures; i++)
      expect(codes(await signIn(`spray${i}@root.example`, 'wrong password', address))).toEqual(['UNAUTHENTICATED']);
    await atOnce();
    expect(codes(await signIn('spray-next@root.example', 'wrong password', address))).toEqual(['TOO_MANY_ATTEMPTS']);
    expect(codes(await signIn('spray-next@root.example', 'wrong password', newAddress()))).toEqual(['UNAUTHENTICATED']);
  }, 120_000);
});

describe('sign-up', () => {
  test('a registered e-mail is never announced: the right password signs in, another is a wrong sign-in', async () => {
    const { account } = await api.person(api.root);
    const taken = await api.gql(SIGN_UP, { e: account.email, p: 'a different long one' });
    expect(codes(taken)).toEqual(['UNAUTHENTICATED']);
    expect(taken.errors?.[0]?.message).toBe('The e-mail or the password is wrong.');
    expect(JSON.stringify(taken)).not.toMatch(/registered|exists|already/i);
    const again = await api.ok<{ signUp: { token: string; account: { email: string } } }>(SIGN_UP, {
      e: account.email,
      p: PASSWORD,
    });
    expect(again.signUp.account.email).toBe(account.email);
  }, 120_000);

  test('sign-ups from one client address are throttled', async () => {
    const address = newAddress();
    for (let i = 0; i < SIGN_UP_THROTTLE.freeFailures; i++) {
      const result = await api.gql(
        SIGN_UP,
        { e: `burst${i}@new.example`, p: PASSWORD },
        { headers: { 'x-forwarded-for': address } },
      );
      expect(result.errors).toBeUndefined();
    }
    await atOnce();
    const next = await api.gql(
      SIGN_UP,
      { e: 'burst-next@new.example', p: PASSWORD },
      { headers: { 'x-forwarded-for': address } },
    );
    expect(codes(next)).toEqual(['TOO_MANY_ATTEMPTS']);
  }, 120_000);
});

describe('password policy', () => {
  test.each(['password', '        ', '\t \t \t \t ', '12345678', 'Password1', 'qwertyuiop', ' iloveyou '])(
    'refuses %p at sign-up',
    async (password) => {
      const result = await api.gql(SIGN_UP, { e: `policy-${crypto.randomUUID()}@x.example`, p: password });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'password' });
    },
  );

  test('refuses a common password when changing it and for a new reseller admin; accepts a good one', async () => {
    const { token } = await api.person(api.root);
    const CHANGE = 'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }';
    const common = await api.gql(CHANGE, { c: PASSWORD, n: 'iloveyou1' }, { token });
    expect(common.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'newPassword' });
    expect((await api.gql(CHANGE, { c: PASSWORD, n: 'tangerine kettle orbit' }, { token })).errors).toBeUndefined();
    const operator = await api.person(api.root, 'operator');
    const child = await api.gql(
      'mutation($i: NewChildTenantInput!) { createChildTenant(input: $i) { adminId } }',
      {
        i: {
          slug: 'weak-admin',
          name: 'Weak',
          markupBps: 0,
          adminEmail: 'a@weak.example',
          adminPassword: 'password123',
        },
      },
      { token: operator.token },
    );
    expect(child.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'adminPassword' });
  }, 120_000);
});

describe('client address', () => {
  const ranges = (...texts: string[]) => texts.map((t) => parseAddressRange(t)).filter((r): r is AddressRange => !!r);
  const forwarded = (value: string) => new Request('http://x/graphql', { headers: { 'x-forwarded-for': value } });

  test('X-Forwarded-For is believed only from a trusted peer, read from the right', () => {
    const trusted = ranges('127.0.0.1', '10.0.0.0/8');
    expect(clientAddress(forwarded('198.51.100.7'), '192.0.2.1', trusted)).toBe('192.0.2.1');
    expect(clientAddress(forwarded('198.51.100.7'), '127.0.0.1', trusted)).toBe('198.51.100.7');
    expect(clientAddress(forwarded('1.1.1.1, 198.51.100.7, 10.0.0.5'), '127.0.0.1', trusted)).toBe('198.51.100.7');
    expect(clientAddress(forwarded('forged, 198.51.100.7'), '127.0.0.1', trusted)).toBe('198.51.100.7');
    expect(clientAddress(forwarded('garbage'), '127.0.0.1', trusted)).toBe('127.0.0.1');
    expect(clientAddress(forwarded('198.51.100.7'), undefined, trusted)).toBeUndefined();
  });
});
