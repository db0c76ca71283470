import { ApiError, gql, type ApiCaller } from './api';

/**
 * Names for ids an admin page lists (the accounts of a request log, the subjects of limits): one
 * aliased query for them all. A name that cannot be read leaves the id to be shown instead.
 */

const MAX_NAMES = 100;

async function lookUp(
  caller: ApiCaller,
  field: 'customer' | 'apiKey',
  selection: string,
  ids: readonly string[],
): Promise<Record<string, Record<string, string>>> {
  const unique = [...new Set(ids)].slice(0, MAX_NAMES);
  if (unique.length === 0) return {};
  const variables = Object.fromEntries(unique.map((id, i) => [`v${i}`, id]));
  const declarations = unique.map((_, i) => `$v${i}: ID!`).join(', ');
  const fields = unique.map((_, i) => `n${i}: ${field}(id: $v${i}) { ${selection} }`).join(' ');
  try {
    const data = await gql<Record<string, Record<string, string>>>(
      caller,
      `query Names(${declarations}) { ${fields} }`,
      variables,
    );
    return Object.fromEntries(unique.map((id, i) => [id, data[`n${i}`] ?? {}]));
  } catch (error) {
    if (error instanceof ApiError && error.code !== 'UNAVAILABLE') return {};
    throw error;
  }
}

/** E-mail addresses of accounts of the tenant, by account id. */
export async function accountEmails(caller: ApiCaller, ids: readonly string[]): Promise<Record<string, string>> {
  const found = await lookUp(caller, 'customer', 'email', ids);
  return Object.fromEntries(Object.entries(found).flatMap(([id, value]) => (value.email ? [[id, value.email]] : [])));
}

/** "name (tg-AbC…)" of API keys of the tenant, with the account they belong to, by key id. */
export async function keyLabels(
  caller: ApiCaller,
  ids: readonly string[],
): Promise<Record<string, { label: string; accountId: string }>> {
  const found = await lookUp(caller, 'apiKey', 'name publicId accountId', ids);
  return Object.fromEntries(
    Object.entries(found).flatMap(([id, value]) =>
      value.publicId && value.accountId
        ? [[id, { label: `${value.name || 'unnamed'} (${value.publicId}…)`, accountId: value.accountId }]]
        : [],
    ),
  );
}
