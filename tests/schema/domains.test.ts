import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Tenant } from '../../db/queries/tenants.ts';
import { MIN_SECONDS_BETWEEN_CHECKS } from '../../schema/domain.ts';
import { createDomainCheck } from '../../schema/domain-check.ts';
import { startDnsServer, type DnsServer } from './dns-server.ts';
import { codes, startApi, type ApiHarness, type GqlResult, type Person } from './harness.ts';

/**
 * Custom domains take effect only once proved, by a TXT record or a well-known file, checked by
 * the server through a DNS server and a web server on loopback. The operator's hosts and other
 * tenants' domains cannot be claimed; the operator sees every claim.
 */

const OPERATOR_HOSTS = ['api.tollgate.example', 'portal.tollgate.example', 'gw2.tollgate.example'];
let api: ApiHarness;
let dns: DnsServer;
let web: ReturnType<typeof Bun.serve>;
let webHits = 0;
/** `host + path` → body, as the tenants' own web servers would serve them. */
const files = new Map<string, string>();
let operator: Person;

beforeAll(async () => {
  dns = await startDnsServer();
  web = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request) {
      webHits += 1;
      const host = (request.headers.get('host') ?? '').replace(/:\d+$/, '');
      const body = files.get(`${host}${new URL(request.url).pathname}`);
      return body === undefined ? new Response('not here', { status: 404 }) : new Response(`${body}\n`);
    },
  });
  api = await startApi(
    {
      PUBLIC_URL: `https://${OPERATOR_HOSTS[0]}`,
      PORTAL_URL: `https://${OPERATOR_HOSTS[1]}`,
      TOLLGATE_RESERVED_DOMAINS: OPERATOR_HOSTS[2] ?? '',
    },
    { domainCheck: createDomainCheck({ dnsServers: [dns.address], allowPrivate: true, httpPort: web.port }) },
  );
  operator = await api.person(api.root, 'operator');
});
afterAll(async () => {
  await api.close();
  await web.stop(true);
  dns.close();
});

type Claim = { domain: string; token: string; dnsRecordName: string; httpUrl: string; lastError: string | null };
const SET =
  'mutation($d: String) { setCustomDomain(domain: $d) { customDomain domainClaim { domain token dnsRecordName httpUrl lastError } } }';
const VERIFY = 'mutation { verifyCustomDomain { customDomain domainClaim { domain } } }';
const CLAIM = '{ tenant { customDomain domainClaim { domain token dnsRecordName httpUrl lastError } } }';

async function reseller(slug: string): Promise<{ tenant: Tenant; admin: Person }> {
  const tenant = await api.tenant(slug);
  return { tenant, admin: await api.person(tenant, 'admin') };
}

async function claim(admin: Person, domain: string): Promise<Claim> {
  const result = await api.ok<{ setCustomDomain: { customDomain: string | null; domainClaim: Claim } }>(
    SET,
    { d: domain },
    { token: admin.token },
  );
  return result.setCustomDomain.domainClaim;
}

const reason = (result: GqlResult) =>
  result.errors?.[0]?.extensions as { code?: string; field?: string; reason?: string };
const hostTenant = async (host: string) =>
  (await api.ok<{ tenant: { slug: string } }>('{ tenant { slug } }', {}, { host })).tenant.slug;
const waitForNextCheck = () => Bun.sleep(MIN_SECONDS_BETWEEN_CHECKS * 1000 + 100);

describe('claiming', () => {
  test("a reseller cannot claim the operator's PUBLIC_URL, PORTAL_URL or reserved hosts", async () => {
    const { admin } = await reseller('grabber');
    for (const host of OPERATOR_HOSTS) {
      const result = await api.gql(SET, { d: host.toUpperCase() }, { token: admin.token });
      expect(reason(result)).toMatchObject({ code: 'INVALID_INPUT', field: 'domain', reason: 'DOMAIN_RESERVED' });
    }
    const after = await api.ok<{ tenant: { customDomain: string | null; domainClaim: null } }>(
      CLAIM,
      {},
      { token: admin.token },
    );
    expect(after.tenant).toEqual({ customDomain: null, domainClaim: null });
  });

  test('a domain claimed but not proved never routes its host to the tenant; a TXT record proves it', async () => {
    const { admin } = await reseller('brand-co');
    const pending = await claim(admin, 'AI.Brand.example');
    expect(pending).toMatchObject({ domain: 'ai.brand.example', dnsRecordName: '_tollgate-verify.ai.brand.example' });
    expect(pending.token).toMatch(/^[0-9a-f]{48}$/);
    expect(pending.httpUrl).toBe(`http://ai.brand.example/.well-known/tollgate-verify/${pending.token}`);
    expect(await hostTenant('ai.brand.example')).toBe('root');
    const signUp = await api.ok<{ signUp: { account: { id: string } } }>(
      'mutation { signUp(email: "early@x.example", password: "long enough pw") { account { id } } }',
      {},
      { host: 'ai.brand.example' },
    );
    const [placed] = await api.sql<{ tenant_id: string }[]>`
      select tenant_id from accounts where id = ${signUp.signUp.account.id}::uuid`;
    expect(placed?.tenant_id).toBe(api.root.id);

    const unproved = await api.gql(VERIFY, {}, { token: admin.token });
    expect(reason(unproved)).toMatchObject({ code: 'INVALID_INPUT', field: 'domain', reason: 'DOMAIN_NOT_PROVEN' });
    expect(unproved.errors?.[0]?.message).toContain('_tollgate-verify.ai.brand.example');
    const seen = await api.ok<{ tenant: { domainClaim: Claim } }>(CLAIM, {}, { token: admin.token });
    expect(seen.tenant.domainClaim.lastError).toContain('TXT');
    expect(await hostTenant('ai.brand.example')).toBe('root');

    dns.records.set('_tollgate-verify.ai.brand.example', { txt: ['unrelated', pending.token] });
    await waitForNextCheck();
    const proved = await api.ok<{ verifyCustomDomain: unknown }>(VERIFY, {}, { token: admin.token });
    expect(proved.verifyCustomDomain).toEqual({ customDomain: 'ai.brand.example', domainClaim: null });
    expect(await hostTenant('ai.brand.example:443')).toBe('brand-co');
  });

  test('a well-known file on the domain proves it, fetched from the address its DNS names', async () => {
    const { admin } = await reseller('web-proof');
    const pending = await claim(admin, 'ai.webproof.example');
    dns.records.set('ai.webproof.example', { a: ['127.0.0.1'] });
    files.set(`ai.webproof.example/.well-known/tollgate-verify/${pending.token}`, pending.token);
    const proved = await api.ok<{ verifyCustomDomain: { customDomain: string } }>(VERIFY, {}, { token: admin.token });
    expect(proved.verifyCustomDomain.customDomain).toBe('ai.webproof.example');
    expect(await hostTenant('ai.webproof.example')).toBe('web-proof');
  });

  test("another tenant's domain is refused, and of two claims on one domain only the proved one wins", async () => {
    const late = await reseller('latecomer');
    expect(reason(await api.gql(SET, { d: 'ai.brand.example' }, { token: late.admin.token }))).toMatchObject({
      reason: 'DOMAIN_TAKEN',
    });
    const first = await reseller('claims-first');
    const owner = await reseller('owns-it');
    await claim(first.admin, 'shared.example');
    const real = await claim(owner.admin, 'shared.example');
    dns.records.set('_tollgate-verify.shared.example', { txt: [real.token] });
    expect(reason(await api.gql(VERIFY, {}, { token: first.admin.token }))?.reason).toBe('DOMAIN_NOT_PROVEN');
    await api.ok(VERIFY, {}, { token: owner.admin.token });
    await waitForNextCheck();
    expect(reason(await api.gql(VERIFY, {}, { token: first.admin.token }))?.reason).toBe('DOMAIN_TAKEN');
    expect(await hostTenant('shared.example')).toBe('owns-it');
  });

  test('a claim is checked at most once in its interval, and a new claim keeps the proved domain until it is proved', async () => {
    const { admin } = await reseller('impatient');
    await claim(admin, 'one.impatient.example');
    expect(reason(await api.gql(VERIFY, {}, { token: admin.token }))?.reason).toBe('DOMAIN_NOT_PROVEN');
    expect(reason(await api.gql(VERIFY, {}, { token: admin.token }))?.reason).toBe('TOO_SOON');
    const proved = await claim(admin, 'two.impatient.example');
    dns.records.set('_tollgate-verify.two.impatient.example', { txt: [proved.token] });
    await api.ok(VERIFY, {}, { token: admin.token });
    await claim(admin, 'three.impatient.example');
    expect(await hostTenant('two.impatient.example')).toBe('impatient');
    expect(await hostTenant('three.impatient.example')).toBe('root');
    const removed = await api.ok<{ setCustomDomain: unknown }>(SET, { d: null }, { token: admin.token });
    expect(removed.setCustomDomain).toEqual({ customDomain: null, domainClaim: null });
    expect(await hostTenant('two.impatient.example')).toBe('root');
  });
});

describe('the operator', () => {
  const LIST =
    '{ domainClaims(first: 100) { edges { node { tenantSlug domain status verifiedBy checkedAt lastError } } } }';
  type Node = { tenantSlug: string; domain: string; status: string; verifiedBy: string | null };

  test('sees every claim with its state and proof; a reseller admin may not', async () => {
    const all = await api.ok<{ domainClaims: { edges: { node: Node }[] } }>(LIST, {}, { token: operator.token });
    const nodes = all.domainClaims.edges.map((e) => e.node);
    expect(nodes).toContainEqual(
      expect.objectContaining({
        tenantSlug: 'brand-co',
        domain: 'ai.brand.example',
        status: 'VERIFIED',
        verifiedBy: 'DNS',
      }),
    );
    expect(nodes).toContainEqual(
      expect.objectContaining({ tenantSlug: 'web-proof', status: 'VERIFIED', verifiedBy: 'HTTP' }),
    );
    expect(nodes).toContainEqual(
      expect.objectContaining({ tenantSlug: 'claims-first', domain: 'shared.example', status: 'PENDING' }),
    );
    const { admin } = await reseller('nosy');
    expect(codes(await api.gql(LIST, {}, { token: admin.token }))).toEqual(['FORBIDDEN']);
  });

  test('a domain that names an operator host from before verification never routes that host to the tenant', async () => {
    const { tenant } = await reseller('squatter');
    await api.sql`update tenants set custom_domain = ${OPERATOR_HOSTS[1] ?? ''} where id = ${tenant.id}::uuid`;
    expect(await hostTenant(OPERATOR_HOSTS[1] ?? '')).toBe('root');
  });
});

describe('outbound rules', () => {
  test('without the operator allowing private addresses, a domain resolving to loopback or metadata is never fetched', async () => {
    const strict = createDomainCheck({ dnsServers: [dns.address], allowPrivate: false, httpPort: web.port });
    for (const [index, address] of ['127.0.0.1', '169.254.169.254', '10.0.0.8', '::ffff:127.0.0.1'].entries()) {
      const name = `inside${index}.example`;
      dns.records.set(name, address.includes(':') ? { aaaa: [address] } : { a: ['93.184.216.34', address] });
      files.set(`${name}/.well-known/tollgate-verify/tok`, 'tok');
      const hits = webHits;
      const proof = await strict(name, 'tok');
      expect(proof).toEqual({ proven: false, reason: expect.stringContaining(`resolves to ${address}, a private`) });
      expect(webHits).toBe(hits);
    }
    const allowing = createDomainCheck({ dnsServers: [dns.address], allowPrivate: true, httpPort: web.port });
    dns.records.set('inside.example', { a: ['127.0.0.1'] });
    files.set('inside.example/.well-known/tollgate-verify/tok', 'tok');
    expect(await allowing('inside.example', 'tok')).toEqual({ proven: true, method: 'http' });
  });

  test('a redirect or a page that does not hold exactly the token proves nothing', async () => {
    const redirecting = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (request) =>
        new URL(request.url).pathname.endsWith('/moved')
          ? Response.redirect(`http://127.0.0.1:${web.port}/.well-known/tollgate-verify/tok`, 302)
          : new Response('tok and more'),
    });
    try {
      const check = createDomainCheck({ dnsServers: [dns.address], allowPrivate: true, httpPort: redirecting.port });
      dns.records.set('tricky.example', { a: ['127.0.0.1'] });
      expect(await check('tricky.example', 'moved')).toMatchObject({
        proven: false,
        reason: expect.stringContaining('answered 302'),
      });
      expect(await check('tricky.example', 'tok')).toMatchObject({
        proven: false,
        reason: expect.stringContaining('without the token'),
      });
    } finally {
      await redirecting.stop(true);
    }
  });
});
