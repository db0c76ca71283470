import { Kind } from 'graphql';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';

/**
 * Custom scalars. 64-bit integers (money in nano-dollars, token counts) travel as decimal strings,
 * never as JSON numbers, which lose precision above 2^53; GraphQL's Int is only 32 bits.
 */

const INTEGER = /^-?\d{1,19}$/;
/** PostgreSQL's int8, where every such value is stored: anything outside would fail in SQL instead. */
const MIN_INT8 = -(2n ** 63n);
const MAX_INT8 = 2n ** 63n - 1n;

function integer(name: string, example: string) {
  return (value: unknown): bigint => {
    const parsed =
      typeof value === 'string' && INTEGER.test(value)
        ? BigInt(value)
        : typeof value === 'number' && Number.isSafeInteger(value)
          ? BigInt(value)
          : undefined;
    if (parsed !== undefined && parsed >= MIN_INT8 && parsed <= MAX_INT8) return parsed;
    throw invalidInput(
      name.toLowerCase(),
      `${name} must be a 64-bit integer (at most 19 digits) written as a string, like "${example}".`,
    );
  };
}

const parseNanos = integer('Nanos', '1500000000');
builder.scalarType('Nanos', {
  description: 'An exact amount of nano-dollars (1 USD = 1000000000), serialized as a decimal integer string.',
  serialize: (value) => value.toString(),
  parseValue: parseNanos,
  parseLiteral: (ast) => parseNanos(ast.kind === Kind.STRING || ast.kind === Kind.INT ? ast.value : undefined),
});

const parseCount = integer('Count', '1200000');
builder.scalarType('Count', {
  description: 'A 64-bit count (tokens, say), serialized as a decimal integer string.',
  serialize: (value) => value.toString(),
  parseValue: parseCount,
  parseLiteral: (ast) => parseCount(ast.kind === Kind.STRING || ast.kind === Kind.INT ? ast.value : undefined),
});

/**
 * The calendar a DateTime input may name. PostgreSQL has no year 0 and JavaScript dates run far past
 * year 9999; nothing in Tollgate predates 1970, and a default range (30 days before `to`) stays valid.
 */
const EARLIEST_DATE_TIME_MS = Date.UTC(1970, 0, 1);
const LATEST_DATE_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw invalidInput('dateTime', 'DateTime must be an ISO 8601 timestamp such as 2025-01-31T12:00:00Z.');
  if (date.getTime() < EARLIEST_DATE_TIME_MS || date.getTime() > LATEST_DATE_TIME_MS)
    throw invalidInput('dateTime', 'DateTime must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z.');
  return date;
}

builder.scalarType('DateTime', {
  description: 'An ISO 8601 timestamp in UTC.',
  serialize: (value) => value.toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});
