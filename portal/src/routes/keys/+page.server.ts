import { gql } from '$lib/server/api';
import { customerBaseUrl } from '$lib/server/config';
import { failure, fields, formData, invalid } from '$lib/server/forms';
import { requireAccount } from '$lib/server/viewer';
import type { ApiKey, Connection } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

const KEY_FIELDS = 'id name publicId active createdAt lastUsedAt revokedAt expiresAt allowedModels creditCap { nanos usd } spent { nanos usd } held { nanos usd }';
const MAX_KEYS_SHOWN = 100;
const USD_AMOUNT = /^\d{1,9}(\.\d{1,9})?$/;

const LIST = `query Keys($first: Int!, $revoked: Boolean!) {
  viewer { account { apiKeys(first: $first, includeRevoked: $revoked) { edges { node { ${KEY_FIELDS} } } } } }
  models { id name }
}`;

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const showRevoked = event.url.searchParams.get('revoked') === '1';
  const data = await gql<{ viewer: { account: { apiKeys: Connection<ApiKey> } | null } | null; models: { id: string; name: string }[] }>(event, LIST, {
    first: MAX_KEYS_SHOWN,
    revoked: showRevoked,
  });
  return {
    keys: data.viewer?.account?.apiKeys.edges.map((e) => e.node) ?? [],
    models: data.models,
    showRevoked,
    baseUrl: customerBaseUrl(event.locals.branding),
  };
};

type Limits = { creditCap?: { usd: string } | null; allowedModels?: string[] | null; expiresAt?: string | null };

/** Reads the limit fields shared by the create and edit forms; an empty field means "no limit". */
async function limitsFrom(data: FormData): Promise<Limits | { field: string; message: string }> {
  const cap = String(data.get('creditCap') ?? '').trim().replace(/^\$/, '');
  if (cap && !USD_AMOUNT.test(cap)) return { field: 'creditCap', message: 'Enter the cap in dollars, like 25 or 12.50, or leave it empty for no cap.' };
  const restricted = data.get('restrictModels') === 'on';
  const chosen = data.getAll('allowedModels').map(String).filter(Boolean);
  const patterns = String(data.get('modelPatterns') ?? '')
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const allowed = [...new Set([...chosen, ...patterns])];
  if (restricted && allowed.length === 0) return { field: 'allowedModels', message: 'Pick at least one model, or allow all models.' };
  const expires = String(data.get('expiresAt') ?? '').trim();
  if (expires && Number.isNaN(Date.parse(`${expires}T23:59:59Z`))) return { field: 'expiresAt', message: 'Pick a valid expiry date.' };
  return {
    creditCap: cap ? { usd: cap } : null,
    allowedModels: restricted ? allowed : null,
    expiresAt: expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null,
  };
}

export const actions: Actions = {
  create: async (event) => {
    requireAccount(event);
    const data = await formData(event.request);
    const name = String(data.get('name') ?? '').trim();
    const values = { name, creditCap: String(data.get('creditCap') ?? '') };
    if (!name) return invalid('name', 'Give the key a name, like the app that will use it.', values, 'create');
    const limits = await limitsFrom(data);
    if ('field' in limits) return invalid(limits.field, limits.message, values, 'create');
    try {
      const { createApiKey } = await gql<{ createApiKey: { key: string; apiKey: { id: string; name: string } } }>(
        event,
        `mutation CreateKey($input: ApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name } } }`,
        { input: { name, ...limits } },
      );
      return { action: 'create', created: { key: createApiKey.key, name: createApiKey.apiKey.name, id: createApiKey.apiKey.id } };
    } catch (error) {
      return failure(error, values, 'create');
    }
  },
  update: async (event) => {
    requireAccount(event);
    const data = await formData(event.request);
    const id = String(data.get('id') ?? '');
    const name = String(data.get('name') ?? '').trim();
    const action = `update:${id}`;
    if (!name) return invalid('name', 'A key needs a name.', {}, action);
    const limits = await limitsFrom(data);
    if ('field' in limits) return invalid(limits.field, limits.message, {}, action);
    try {
      await gql(event, `mutation UpdateKey($id: ID!, $input: ApiKeyInput!) { updateApiKey(id: $id, input: $input) { id } }`, { id, input: { name, ...limits } });
      return { action, updated: name };
    } catch (error) {
      return failure(error, {}, action);
    }
  },
  revoke: async (event) => {
    requireAccount(event);
    const { id } = await fields(event.request, ['id'] as const);
    try {
      const { revokeApiKey } = await gql<{ revokeApiKey: { name: string } }>(event, `mutation RevokeKey($id: ID!) { revokeApiKey(id: $id) { name } }`, { id });
      return { action: 'revoke', revoked: revokeApiKey.name };
    } catch (error) {
      return failure(error, {}, `revoke:${id}`);
    }
  },
};
