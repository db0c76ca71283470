import { type ASTNode, GraphQLError } from 'graphql';
import { isUuid } from '../db/sql.ts';

/**
 * Expected failures are `ApiError`s (one typed error for the whole schema) with a machine-readable `extensions.code` (and, for bad
 * input, `extensions.field`). Every other error is masked by graphql-yoga as "Unexpected error.",
 * so nothing internal (SQL, stack traces) ever reaches a client.
 *
 * An object of another tenant or account answers NOT_FOUND, exactly like an id that does not
 * exist: the API never confirms that something it will not show exists.
 */

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'INVALID_INPUT'
  | 'BAD_REQUEST'
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COSTLY'
  | 'PAYMENTS_UNAVAILABLE'
  | 'PAYMENT_PROVIDER_ERROR'
  | 'TOO_MANY_ATTEMPTS';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, BAD_REQUEST: 400 };

export class ApiError extends GraphQLError {
  /**
   * `details` are further extensions a client acts on: a `reason` telling apart refusals of one
   * field (DOMAIN_RESERVED, say), or `retryAfterSeconds`.
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    details: Readonly<Record<string, string | number>> = {},
    nodes?: readonly ASTNode[],
  ) {
    const status = HTTP_STATUS[code];
    super(message, {
      ...(nodes ? { nodes } : {}),
      extensions: { code, ...(field ? { field } : {}), ...details, ...(status ? { http: { status } } : {}) },
    });
  }
}

export const notFound = (what: string) => new ApiError('NOT_FOUND', `${what} not found`);
export const forbidden = (message: string) => new ApiError('FORBIDDEN', message);
export const invalidInput = (field: string, message: string, reason?: string) =>
  new ApiError('INVALID_INPUT', message, field, reason ? { reason } : {});
export const tooManyAttempts = (retryAfterSeconds: number) =>
  new ApiError(
    'TOO_MANY_ATTEMPTS',
    `Too many attempts. Try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.`,
    undefined,
    { retryAfterSeconds },
  );
export const unauthenticated = (message: string) => new ApiError('UNAUTHENTICATED', message);

/** An id the client passed, checked before it reaches SQL: a malformed id is simply not found. */
export function uuidOr404(id: string, what: string): string {
  if (!isUuid(id)) throw notFound(what);
  return id;
}

/** True for PostgreSQL's unique violation on the named constraint or index. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint_name: name } = error as { code?: unknown; constraint_name?: unknown };
  return code === '23505' && name === constraint;
}
