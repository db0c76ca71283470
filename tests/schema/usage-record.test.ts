import { afterAll, beforeAll, expect, test } from 'bun:test';
import { insertRequests, type RequestRecord } from '../../db/queries/requests.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import { codes, startApi, type ApiHarness, type Person } from './harness.ts';

/** One request of the log by its id, with what the ledger took for it: the portal's request drawer. */

let api: ApiHarness;
let alice: Person;
let bob: Person;
let admin: Person;
let otherAdmin: Person;

const CHARGE_NANOS = 1_234_567n;
const GRANTED_PART_NANOS = 234_567n;

const RECORD = `query($id: ID!) { usageRecord(id: $id) { id accountId model protocol charge { nanos } ledgerEntries { kind cause funding amount { nanos } } } }`;
type Answer = {
  usageRecord: {
    id: string;
    accountId: string;
    protocol: string | null;
    charge: { nanos: string };
    ledgerEntries: { kind: string; cause: string; funding: string; amount: { nanos: string } }[];
  };
};

function request(id: string, person: Person, chargeNanos: bigint): RequestRecord {
  return {
    id,
    tenantId: person.account.tenantId,
    accountId: person.account.id,
    apiKeyId: null,
    route: '/v1/messages',
    protocol: 'messages',
    model: 'fake/small',
    stream: false,
    statusCode: 200,
    outcome: 'completed',
    errorCode: null,
    promptTokens: 10,
    completionTokens: 5,
    promptTokensBound: null,
    costNanos: 0n,
    chargeNanos,
    holdNanos: 0n,
    estimated: false,
    usageDistrusted: false,
    generationId: null,
    latencyMs: 120,
    firstByteMs: null,
  };
}

beforeAll(async () => {
  api = await startApi();
  [alice, bob, admin] = [await api.person(api.root), await api.person(api.root), await api.person(api.root, 'admin')];
  otherAdmin = await api.person(await api.tenant('other'), 'admin');
  await api.credit(alice.account, 5_000_000_000n);
  await insertRequests(api.sql, [request('req-alice', alice, CHARGE_NANOS), request('req-free', alice, 0n)]);
  const [revenue, promotion] = await Promise.all([
    tenantWalletId(api.sql, api.root.id, 'revenue'),
    tenantWalletId(api.sql, api.root.id, 'promotion'),
  ]);
  await recordTransfer(api.sql, {
    kind: 'grant',
    cause: 'welcome-alice',
    entries: [
      { walletId: alice.account.walletId, funding: 'granted', amountNanos: GRANTED_PART_NANOS },
      { walletId: promotion, funding: 'granted', amountNanos: -GRANTED_PART_NANOS },
    ],
  });
  // Granted credit is used first: the charge is split over two entries of the same transfer.
  await recordTransfer(api.sql, {
    kind: 'usage',
    cause: 'req-alice',
    entries: [
      { walletId: alice.account.walletId, funding: 'granted', amountNanos: -GRANTED_PART_NANOS },
      { walletId: alice.account.walletId, funding: 'paid', amountNanos: -(CHARGE_NANOS - GRANTED_PART_NANOS) },
      { walletId: revenue, funding: 'paid', amountNanos: CHARGE_NANOS },
    ],
  });
});
afterAll(() => api.close());

test("a customer reads their request with the ledger's entries for it, which add up to its charge", async () => {
  const { usageRecord } = await api.ok<Answer>(RECORD, { id: 'req-alice' }, { token: alice.token });
  expect(usageRecord.charge.nanos).toBe(CHARGE_NANOS.toString());
  expect(usageRecord.protocol).toBe('messages');
  expect(usageRecord.ledgerEntries.every((e) => e.kind === 'USAGE' && e.cause === 'req-alice')).toBe(true);
  expect(usageRecord.ledgerEntries.map((e) => e.funding).sort()).toEqual(['GRANTED', 'PAID']);
  const debited = usageRecord.ledgerEntries.reduce((sum, e) => sum - BigInt(e.amount.nanos), 0n);
  expect(debited).toBe(CHARGE_NANOS);
});

test('a request that cost nothing has no ledger entries', async () => {
  const { usageRecord } = await api.ok<Answer>(RECORD, { id: 'req-free' }, { token: alice.token });
  expect(usageRecord.ledgerEntries).toEqual([]);
});

test("another customer, another tenant's admin and an unknown id all get NOT_FOUND; the tenant's admin reads it", async () => {
  expect(codes(await api.gql(RECORD, { id: 'req-alice' }, { token: bob.token }))).toEqual(['NOT_FOUND']);
  expect(codes(await api.gql(RECORD, { id: 'req-alice' }, { token: otherAdmin.token }))).toEqual(['NOT_FOUND']);
  expect(codes(await api.gql(RECORD, { id: 'nope' }, { token: alice.token }))).toEqual(['NOT_FOUND']);
  expect(codes(await api.gql(RECORD, { id: 'x'.repeat(5_000) }, { token: alice.token }))).toEqual(['NOT_FOUND']);
  const { usageRecord } = await api.ok<Answer>(RECORD, { id: 'req-alice' }, { token: admin.token });
  expect(usageRecord.accountId).toBe(alice.account.id);
});
