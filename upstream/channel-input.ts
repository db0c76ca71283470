import type { ModelPrice } from '../core/cost.ts';
import {
  CHANNEL_STATES,
  PRICE_SOURCES,
  type ChannelSettings,
  type ChannelState,
  type PriceSource,
} from '../db/queries/channels.ts';

/**
 * What a channel may be set to, checked once for the CLI and the API alike (the database checks
 * the same bounds). A key variable is a variable's name: anything else (a key pasted by mistake)
 * is refused, and never echoed back.
 */

export const CHANNEL_PROTOCOLS = ['chat', 'completions', 'embeddings', 'messages', 'responses'] as const;
export const CHANNEL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const KEY_VARIABLE = /^[A-Z][A-Z0-9_]{0,127}$/;
const MODEL_ID = /^[A-Za-z0-9/_.:@+-]{1,200}$/;
const MODEL_PATTERN = /^[A-Za-z0-9/_.:@+*?-]{1,200}$/;
const MAX_URL_LENGTH = 2_000;
const MAX_MODEL_PATTERNS = 200;
const MAX_MAPPED_MODELS = 1_000;
const MAX_PRIORITY = 1_000_000;
const MAX_WEIGHT = 1_000;
const MAX_CONCURRENCY = 100_000;
const MAX_REQUESTS_PER_MINUTE = 10_000_000;
const MIN_HEADERS_TIMEOUT_MS = 100;
const MAX_HEADERS_TIMEOUT_MS = 600_000;

export class ChannelInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function check(ok: boolean, field: string, message: string): void {
  if (!ok) throw new ChannelInputError(field, message);
}

function checkWhole(value: number | null | undefined, field: string, min: number, max: number, nullable: boolean) {
  if (value === undefined || (value === null && nullable)) return;
  check(
    value !== null && Number.isInteger(value) && value >= min && value <= max,
    field,
    `${field} must be a whole number from ${min} to ${max}${nullable ? ', or none' : ''}.`,
  );
}

export function checkChannelName(name: string): void {
  check(CHANNEL_NAME.test(name), 'name', 'A channel name is lowercase letters, digits and dashes (at most 63).');
}

export function checkModelId(id: string, field = 'model'): void {
  check(
    MODEL_ID.test(id),
    field,
    `${field} must be a model id (letters, digits, / _ . : @ + -), up to 200 characters.`,
  );
}

function checkEndpoint(settings: Partial<ChannelSettings>): void {
  const { baseUrl, keyVariable } = settings;
  if (baseUrl !== undefined && baseUrl !== null) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(baseUrl);
    } catch {
      parsed = undefined;
    }
    check(
      parsed !== undefined &&
        /^https?:$/.test(parsed.protocol) &&
        baseUrl.length <= MAX_URL_LENGTH &&
        !/\s/.test(baseUrl),
      'baseUrl',
      'baseUrl must be an http(s) URL such as https://openrouter.ai/api/v1.',
    );
    check(parsed?.username === '' && parsed?.password === '', 'baseUrl', 'baseUrl must not carry credentials.');
  }
  if (keyVariable !== undefined && keyVariable !== null)
    check(
      KEY_VARIABLE.test(keyVariable),
      'keyVariable',
      'keyVariable is the NAME of an environment variable holding the key (like BACKUP_UPSTREAM_KEY), never the key.',
    );
}

function checkModels(settings: Partial<ChannelSettings>): void {
  const { protocols, models, modelMap } = settings;
  if (protocols !== undefined)
    check(
      protocols.length > 0 && protocols.every((p) => (CHANNEL_PROTOCOLS as readonly string[]).includes(p)),
      'protocols',
      `protocols must be some of ${CHANNEL_PROTOCOLS.join(', ')}.`,
    );
  if (models !== undefined)
    check(
      models.length <= MAX_MODEL_PATTERNS && models.every((m) => MODEL_PATTERN.test(m)),
      'models',
      `models are up to ${MAX_MODEL_PATTERNS} model ids or globs (* any run of characters, ? one).`,
    );
  if (modelMap !== undefined) {
    const entries = Object.entries(modelMap);
    check(entries.length <= MAX_MAPPED_MODELS, 'modelMap', `modelMap maps at most ${MAX_MAPPED_MODELS} models.`);
    for (const [from, to] of entries) {
      checkModelId(from, 'modelMap');
      checkModelId(to, 'modelMap');
    }
  }
}

export function checkChannelSettings(settings: Partial<ChannelSettings>): void {
  checkEndpoint(settings);
  checkModels(settings);
  checkWhole(settings.priority, 'priority', -MAX_PRIORITY, MAX_PRIORITY, false);
  checkWhole(settings.weight, 'weight', 1, MAX_WEIGHT, false);
  checkWhole(settings.maxConcurrency, 'maxConcurrency', 1, MAX_CONCURRENCY, true);
  checkWhole(settings.maxRequestsPerMinute, 'maxRequestsPerMinute', 1, MAX_REQUESTS_PER_MINUTE, true);
  checkWhole(settings.headersTimeoutMs, 'headersTimeoutMs', MIN_HEADERS_TIMEOUT_MS, MAX_HEADERS_TIMEOUT_MS, true);
  if (settings.priceSource !== undefined)
    check(
      (PRICE_SOURCES as readonly string[]).includes(settings.priceSource as PriceSource),
      'priceSource',
      `priceSource is one of ${PRICE_SOURCES.join(', ')}.`,
    );
  if (settings.state !== undefined)
    check(
      (CHANNEL_STATES as readonly string[]).includes(settings.state as ChannelState),
      'state',
      `state is one of ${CHANNEL_STATES.join(', ')}.`,
    );
}

/** Bounds of a price table entry: a price nobody sells (over $1M per million tokens) is a typo. */
const MAX_PRICE_NANOS = 1_000_000n * 1_000_000_000n;

export function checkChannelPrice(price: ModelPrice): void {
  for (const [field, value] of Object.entries(price))
    check(value >= 0n && value <= MAX_PRICE_NANOS, field, `${field} must be from 0 to $1,000,000.`);
}
