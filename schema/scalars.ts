import { Kind } from 'graphql';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';

/**
 * Custom scalars. 64-bit integers (money in nano-dollars, token counts) travel as decimal strings,
 * never as JSON numbers, which lose precision above 2^53; GraphQL's Int is only 32 bits.
 */

const INTEGER = /^-?\d{1,30}$/;

function integer(name: string, example: string) {
  return (value: unknown): bigint => {
    if (typeof value === 'string' && INTEGER.test(value)) return BigInt(value);
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    throw invalidInput(name.toLowerCase(), `${name} must be an integer written as a string, like "${example}".`);
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

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw invalidInput('dateTime', 'DateTime must be an ISO 8601 timestamp such as 2025-01-31T12:00:00Z.');
  return date;
}

builder.scalarType('DateTime', {
  description: 'An ISO 8601 timestamp in UTC.',
  serialize: (value) => value.toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});
