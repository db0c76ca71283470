import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import type { KeysetPage, Position, Positioned } from '../db/queries/keyset.ts';
import { invalidInput } from './errors.ts';

/**
 * Relay cursors are opaque to clients: base64url of the row's position. A cursor is only a place
 * in a list; every query still filters by the caller's tenant, so a cursor taken from another
 * tenant's list reveals nothing.
 */

type ConnectionArgs = { first?: number | null; last?: number | null; after?: string | null; before?: string | null };

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

function encodePosition(position: Position): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

function decodePosition(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const [at, id] = value as [string, string];
      if (/^\d{4}-\d{2}-\d{2} [\d:.]+[+-]\d{2}(:\d{2})?$/.test(at) && id.length <= 200) return { at, id };
    }
  } catch {
    // Falls through to the one error below: a cursor is either ours or invalid.
  }
  throw invalidInput('after', 'This cursor is not valid here; use a cursor from this list.');
}

/** A keyset-paged connection: the query gets decoded positions and a limit one above the page size. */
export function keysetConnection<T>(args: ConnectionArgs, fetch: (page: KeysetPage) => Promise<Positioned<T>[]>) {
  return resolveCursorConnection(
    {
      args,
      toCursor: (row: Positioned<T>) => encodePosition(row.position),
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
    },
    ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
      fetch({ after: decodePosition(after), before: decodePosition(before), limit, inverted }),
  );
}

/** The same for lists paged by an increasing integer id (ledger entries). */
export function idConnection<T extends { id: bigint }>(
  args: ConnectionArgs,
  fetch: (page: {
    afterId: bigint | undefined;
    beforeId: bigint | undefined;
    limit: number;
    inverted: boolean;
  }) => Promise<T[]>,
) {
  const decode = (cursor: string | undefined) => {
    if (cursor === undefined) return undefined;
    if (!/^\d{1,19}$/.test(cursor))
      throw invalidInput('after', 'This cursor is not valid here; use a cursor from this list.');
    return BigInt(cursor);
  };
  return resolveCursorConnection(
    { args, toCursor: (row: T) => row.id.toString(), defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE },
    ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
      fetch({ afterId: decode(after), beforeId: decode(before), limit, inverted }),
  );
}
