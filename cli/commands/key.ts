import { createApiKey, findApiKey, listApiKeys, revokeApiKey, type ApiKey } from '../../db/queries/api-keys.ts';
import { optionalString, positional, requiredString, strings } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { fields, formatDate, money, table } from '../format.ts';
import { ACCOUNT_OPTIONS, accountOption } from '../resolve.ts';
import { displayName, integer, usdAmount } from '../values.ts';

const MAX_EXPIRY_DAYS = 3650;
const MAX_MODEL_PATTERN_LENGTH = 200;
const DAY_MS = 86_400_000;
const ONCE_WARNING = 'store this key now: it is not saved anywhere and cannot be shown again';

/** Never includes the key's hash: only the public id identifies a key in output. */
function keyJson(key: ApiKey) {
  return {
    id: key.id,
    publicId: key.publicId,
    accountId: key.accountId,
    name: key.name,
    createdAt: key.createdAt,
    expiresAt: key.expiresAt,
    revokedAt: key.revokedAt,
    lastUsedAt: key.lastUsedAt,
    creditCap: key.creditCapNanos === null ? null : money(key.creditCapNanos),
    spent: money(key.spentNanos),
    held: money(key.heldNanos),
    allowedModels: key.allowedModels,
  };
}

const CREATE = 'key create';

export const keyCreateCommand: Command = {
  name: CREATE,
  summary: 'create an API key for an account; the key is printed once',
  options: {
    ...ACCOUNT_OPTIONS,
    account: { ...ACCOUNT_OPTIONS.account, help: 'the account the key spends from (required)' },
    name: { type: 'string', value: 'NAME', help: 'a label for the key' },
    'expires-in-days': {
      type: 'string',
      value: 'DAYS',
      help: `the key stops working after this many days (1 to ${MAX_EXPIRY_DAYS})`,
    },
    'credit-cap-usd': { type: 'string', value: 'USD', help: 'the most this key may ever spend, e.g. 5.00' },
    'allow-model': {
      type: 'string',
      multiple: true,
      value: 'GLOB',
      help: "only these models, e.g. 'openai/*' (repeatable; default: all)",
    },
  },
  prepare: (args) => {
    const accountRef = requiredString(args, 'account');
    const tenantRef = optionalString(args, 'tenant');
    const name = displayName(CREATE, 'name', optionalString(args, 'name') ?? '');
    const daysText = optionalString(args, 'expires-in-days');
    const days = daysText === undefined ? undefined : integer(CREATE, 'expires-in-days', daysText, 1, MAX_EXPIRY_DAYS);
    const capText = optionalString(args, 'credit-cap-usd');
    const creditCapNanos = capText === undefined ? null : usdAmount(CREATE, 'credit-cap-usd', capText, true);
    const models = strings(args, 'allow-model');
    const tooLong = models.find((pattern) => pattern.length > MAX_MODEL_PATTERN_LENGTH);
    if (tooLong)
      throw new UsageError(`${CREATE}: --allow-model patterns must be at most ${MAX_MODEL_PATTERN_LENGTH} characters`);
    return async (session) => {
      const { account } = await accountOption(session, CREATE, accountRef, tenantRef);
      const expiresAt = days === undefined ? null : new Date(Date.now() + days * DAY_MS);
      const { key, apiKey } = await createApiKey(session.db.sql, session.db.keyPepper, {
        accountId: account.id,
        name,
        expiresAt,
        creditCapNanos,
        allowedModels: models.length === 0 ? null : models,
      });
      const text = fields([
        ['created key', apiKey.publicId],
        ['account', account.email],
        ['name', apiKey.name || '-'],
        ['expires', formatDate(apiKey.expiresAt)],
        ['credit cap', apiKey.creditCapNanos === null ? 'none' : `$${money(apiKey.creditCapNanos).usd}`],
        ['models', apiKey.allowedModels?.join(' ') ?? 'all'],
        ['key', key],
      ]);
      return { json: { key, warning: ONCE_WARNING, apiKey: keyJson(apiKey) }, text: `${text}\n\n${ONCE_WARNING}` };
    };
  },
};

export const keyRevokeCommand: Command = {
  name: 'key revoke',
  summary: 'revoke an API key by its public id (tg-…) or id; revoking is permanent',
  positional: { name: 'PUBLIC_ID|ID', help: 'the key to revoke' },
  options: {},
  prepare: (args) => {
    const ref = positional(args);
    return async (session) => {
      const found = await findApiKey(session.db.sql, ref);
      if (!found) throw new UsageError(`key revoke: no key "${ref}" (give its public id, like tg-AbCd1234, or its id)`);
      const revoked = await revokeApiKey(session.db.sql, found.id);
      if (!revoked) throw new UsageError(`key revoke: no key "${ref}"`);
      const already = found.revokedAt !== null;
      const text = already
        ? `key ${revoked.publicId} was already revoked at ${formatDate(revoked.revokedAt)}`
        : `revoked key ${revoked.publicId}`;
      return { json: { revoked: !already, alreadyRevoked: already, apiKey: keyJson(revoked) }, text };
    };
  },
};

export const keyListCommand: Command = {
  name: 'key list',
  summary: "list an account's API keys (never their secrets)",
  options: {
    ...ACCOUNT_OPTIONS,
  },
  prepare: (args) => {
    const accountRef = requiredString(args, 'account');
    const tenantRef = optionalString(args, 'tenant');
    return async (session) => {
      const { account } = await accountOption(session, 'key list', accountRef, tenantRef);
      const keys = await listApiKeys(session.db.sql, account.id);
      const state = (key: ApiKey) =>
        key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt < new Date() ? 'expired' : 'active';
      const rows = keys.map((k) => [
        k.publicId,
        k.name || '-',
        state(k),
        formatDate(k.createdAt),
        formatDate(k.expiresAt),
        formatDate(k.lastUsedAt),
        k.creditCapNanos === null ? '-' : money(k.creditCapNanos).usd,
        money(k.spentNanos).usd,
        k.allowedModels?.join(' ') ?? 'all',
      ]);
      return {
        json: { accountId: account.id, keys: keys.map((key) => ({ ...keyJson(key), state: state(key) })) },
        text: table(
          ['PUBLIC ID', 'NAME', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED', 'CAP USD', 'SPENT USD', 'MODELS'],
          rows,
          `no keys for ${account.email}`,
        ),
      };
    };
  },
};
