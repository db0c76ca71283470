import type { Db } from '../sql.ts';

/**
 * Keyset pagination for lists ordered newest first by (created_at, id). A position carries the
 * timestamp as PostgreSQL's own text, which round-trips exactly (microseconds included), so two
 * rows of the same millisecond are never skipped or repeated.
 */

export type Position = { at: string; id: string };

export type KeysetPage = {
  /** Rows strictly older than this position. */
  after: Position | undefined;
  /** Rows strictly newer than this position. */
  before: Position | undefined;
  limit: number;
  /** Read oldest first (for `last`/`before`); the caller reverses the rows it gets. */
  inverted: boolean;
};

export type Positioned<T> = T & { position: Position };

/**
 * The `and … order by … limit …` tail of a keyset query. `table` qualifies the columns when the
 * query joins; `idType` is the id column's SQL type (uuid or text).
 */
export function keysetTail(db: Db, page: KeysetPage, table: string, idType: 'uuid' | 'text') {
  const at = db.unsafe(`${table}.created_at`);
  const id = db.unsafe(`${table}.id`);
  const cast = db.unsafe(idType);
  const direction = db.unsafe(page.inverted ? 'asc' : 'desc');
  const after = page.after ? db`and (${at}, ${id}) < (${page.after.at}::timestamptz, ${page.after.id}::${cast})` : db``;
  const before = page.before
    ? db`and (${at}, ${id}) > (${page.before.at}::timestamptz, ${page.before.id}::${cast})`
    : db``;
  return db`${after} ${before} order by ${at} ${direction}, ${id} ${direction} limit ${page.limit}`;
}

/** The select-list item every keyset query adds, so rows can name their own position. */
export function positionColumn(db: Db, table: string) {
  return db.unsafe(`${table}.created_at::text as position_at`);
}

export function withPosition<T extends { id: string; position_at: string }, U>(
  row: T,
  map: (row: T) => U,
): Positioned<U> {
  return { ...map(row), position: { at: row.position_at, id: row.id } };
}
