import postgres from 'postgres';

/** The one postgres.js client type: int8 columns come back as exact bigints, never numbers. */
export type Sql = postgres.Sql<{ bigint: bigint }>;
export type TransactionSql = postgres.TransactionSql<{ bigint: bigint }>;
/** Query functions take either the pool or a transaction, so they also run inside `sql.begin`. */
export type Db = Sql | TransactionSql;

const CONNECT_TIMEOUT_SECONDS = 5;
const IDLE_TIMEOUT_SECONDS = 30;
/**
 * postgres.js waits before each reconnection, by default 3^failures/100 s shared by the pool and
 * growing to 20 s: while the database is down, a query then waits that long for a connection
 * attempt before it fails. Capped here so requests fail fast (a 503) and the pool reconnects within
 * this delay of the database's return.
 */
const RECONNECT_BACKOFF_MAX_SECONDS = 0.25;
const RECONNECT_BACKOFF_FIRST_SECONDS = 0.01;
/** A stuck statement or a transaction whose client vanished must not hold locks on money rows. */
const STATEMENT_TIMEOUT_MS = 15_000;
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
const LOCK_TIMEOUT_MS = 5_000;

export type ConnectOptions = { maxConnections?: number; applicationName?: string };

export function connectDatabase(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.maxConnections ?? 10,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    idle_timeout: IDLE_TIMEOUT_SECONDS,
    backoff: (failures: number) =>
      Math.min(RECONNECT_BACKOFF_FIRST_SECONDS * 2 ** failures, RECONNECT_BACKOFF_MAX_SECONDS),
    onnotice: () => {},
    types: { bigint: postgres.BigInt },
    connection: {
      application_name: options.applicationName ?? 'tollgate',
      statement_timeout: STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      lock_timeout: LOCK_TIMEOUT_MS,
    },
  });
}

/** True for errors that mean the database could not be reached, as opposed to a refused statement. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (code === 'ECONNREFUSED' ||
      code === 'ECONNRESET' ||
      code === 'CONNECT_TIMEOUT' ||
      code === 'CONNECTION_CLOSED' ||
      code === 'CONNECTION_DESTROYED' ||
      code === 'CONNECTION_ENDED' ||
      code === '57P01' ||
      code === '57P03' ||
      code === 'EPIPE')
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a client-given id can be cast to uuid: anything else would fail the statement, so it is simply not found. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** Runs the work in the caller's transaction when there is one, else in a new one. */
export function inTransaction<T>(db: Db, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  if ('savepoint' in db) return work(db);
  return db.begin(work) as Promise<T>;
}
