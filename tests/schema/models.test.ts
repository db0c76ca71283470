import { afterAll, beforeAll, expect, test } from 'bun:test';
import { basicPrice } from '../../core/cost.ts';
import { upsertModels, type ModelInput } from '../../db/queries/models.ts';
import { modelFromUpstream } from '../../upstream/catalog.ts';
import { codes, startApi, type ApiHarness, type Person } from './harness.ts';

/** The catalog with each caller's prices: every markup of the tenant chain, rounded up once. */

let api: ApiHarness;
let rootCustomer: Person;
let resellerAdmin: Person;
let resellerCustomer: Person;

const model = (id: string, promptNanosPerMtok: bigint, completionNanosPerMtok: bigint): ModelInput => ({
  id,
  name: id.toUpperCase(),
  description: null,
  contextLength: 8_192,
  maxCompletionTokens: 1_024,
  inputModalities: null,
  outputModalities: null,
  price: basicPrice(promptNanosPerMtok, completionNanosPerMtok, 0n, 0n),
});

beforeAll(async () => {
  // The default root markup is 20%; the reseller adds 10% on top of the root's price.
  api = await startApi();
  await upsertModels(api.sql, [
    model('fake/one', 1_000_000_000n, 2_000_000_000n),
    model('fake/tiny', 1n, 0n),
    model('other/two', 3_000_000_000n, 0n),
  ]);
  const reseller = await api.tenant('price-co', api.root, 1000);
  rootCustomer = await api.person(api.root);
  resellerAdmin = await api.person(reseller, 'admin');
  resellerCustomer = await api.person(reseller);
});
afterAll(() => api.close());

const PRICES =
  'query($id: ID!) { model(id: $id) { price { promptPerMillionTokens { usd } completionPerMillionTokens { usd } } } }';
type Prices = {
  model: { price: { promptPerMillionTokens: { usd: string }; completionPerMillionTokens: { usd: string } } };
};

test("a root customer pays the upstream price plus the root's markup", async () => {
  const result = await api.ok<Prices>(PRICES, { id: 'fake/one' }, { token: rootCustomer.token });
  expect(result.model.price).toEqual({
    promptPerMillionTokens: { usd: '1.20' },
    completionPerMillionTokens: { usd: '2.40' },
  });
});

test("a reseller's customer pays both markups, and nobody pays a fraction of a nano-dollar", async () => {
  const result = await api.ok<Prices>(PRICES, { id: 'fake/one' }, { token: resellerCustomer.token });
  expect(result.model.price).toEqual({
    promptPerMillionTokens: { usd: '1.32' },
    completionPerMillionTokens: { usd: '2.64' },
  });
  const tiny = await api.ok<Prices>(PRICES, { id: 'fake/tiny' }, { token: resellerCustomer.token });
  expect(tiny.model.price.promptPerMillionTokens.usd).toBe('0.000000002');
});

test("a reseller admin sees what it pays, its own markup, and a pricing rule's effect", async () => {
  const WHOLESALE =
    '{ models(search: "fake/one") { id markupBps price { promptPerMillionTokens { usd } } wholesalePrice { promptPerMillionTokens { usd } } } }';
  const before = await api.ok<{ models: unknown[] }>(WHOLESALE, {}, { token: resellerAdmin.token });
  expect(before.models).toEqual([
    {
      id: 'fake/one',
      markupBps: 1000,
      price: { promptPerMillionTokens: { usd: '1.32' } },
      wholesalePrice: { promptPerMillionTokens: { usd: '1.20' } },
    },
  ]);
  await api.ok(
    'mutation { setPricingRule(pattern: "fake/*", markupBps: 5000) { id } }',
    {},
    { token: resellerAdmin.token },
  );
  const after = await api.ok<{ models: unknown[] }>(WHOLESALE, {}, { token: resellerAdmin.token });
  expect(after.models).toEqual([
    {
      id: 'fake/one',
      markupBps: 5000,
      price: { promptPerMillionTokens: { usd: '1.80' } },
      wholesalePrice: { promptPerMillionTokens: { usd: '1.20' } },
    },
  ]);
  const other = await api.ok<{ model: { markupBps: number } }>(
    '{ model(id: "other/two") { markupBps } }',
    {},
    { token: resellerAdmin.token },
  );
  expect(other.model.markupBps).toBe(1000);
});

test('customers cannot see wholesale prices; unknown models are not found; signed out sees the host tenant prices', async () => {
  expect(
    codes(
      await api.gql(
        '{ model(id: "fake/one") { wholesalePrice { promptPerMillionTokens { usd } } } }',
        {},
        { token: rootCustomer.token },
      ),
    ),
  ).toEqual(['FORBIDDEN']);
  expect(codes(await api.gql('{ model(id: "no/such") { id } }', {}, { token: rootCustomer.token }))).toEqual([
    'NOT_FOUND',
  ]);
  const anonymous = await api.ok<{ models: { id: string }[] }>('{ models { id } }');
  expect(anonymous.models.map((m) => m.id)).toEqual(['fake/one', 'fake/tiny', 'other/two']);
});

test("a model's modalities are the catalog's own lists, else its one-string form, else null", async () => {
  const pricing = { prompt: '0.000001', completion: '0.000002' };
  const entries = [
    {
      id: 'arch/lists',
      pricing,
      architecture: { input_modalities: ['text', 'image', 'file', 'image', 'Bad Name'], output_modalities: ['text'] },
    },
    { id: 'arch/string', pricing, architecture: { modality: 'text+audio->text+audio' } },
    { id: 'arch/none', pricing },
  ];
  await upsertModels(
    api.sql,
    entries.map((entry) => {
      const row = modelFromUpstream(entry);
      if (!row) throw new Error(`${entry.id} was not read`);
      return row;
    }),
  );
  const KINDS = 'query($id: ID!) { model(id: $id) { inputModalities outputModalities } }';
  type Kinds = { model: { inputModalities: string[] | null; outputModalities: string[] | null } };
  const of = async (id: string) => (await api.ok<Kinds>(KINDS, { id }, { token: rootCustomer.token })).model;
  await expect(of('arch/lists')).resolves.toEqual({
    inputModalities: ['text', 'image', 'file'],
    outputModalities: ['text'],
  });
  await expect(of('arch/string')).resolves.toEqual({
    inputModalities: ['text', 'audio'],
    outputModalities: ['text', 'audio'],
  });
  await expect(of('arch/none')).resolves.toEqual({ inputModalities: null, outputModalities: null });
});
