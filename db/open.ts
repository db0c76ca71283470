import type { Config } from '../app/config.ts';
import { type EmbeddedLocation, startEmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';
import { instanceSecret } from './queries/instance-secrets.ts';
import { ensureRootTenant, type Tenant } from './queries/tenants.ts';
import { connectDatabase, type Sql } from './sql.ts';

/** Everything a Tollgate process (gateway or CLI) needs from the database to do its work. */
export type Database = {
  sql: Sql;
  url: string;
  root: Tenant;
  keyPepper: string;
  /** The embedded server's data, when there is no DATABASE_URL. */
  embedded?: EmbeddedLocation;
  close: () => Promise<void>;
};

export type OpenOptions = { maxConnections?: number; applicationName?: string; log?: (line: string) => void };

/**
 * Connects to DATABASE_URL, or starts (or joins) the embedded PostgreSQL, then applies pending
 * migrations and makes sure the root tenant exists. Same postgres.js code either way.
 */
export async function openDatabase(config: Config, options: OpenOptions = {}): Promise<Database> {
  const log = options.log ?? (() => {});
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
  const url = config.databaseUrl ?? embedded?.url;
  if (!url) throw new Error('no database: set DATABASE_URL or let Tollgate start its embedded PostgreSQL');
  const sql = connectDatabase(url, {
    maxConnections: options.maxConnections,
    applicationName: options.applicationName,
  });
  try {
    const applied = await migrate(sql);
    for (const name of applied) log(`applied migration ${name}`);
    const root = await ensureRootTenant(sql, config.defaultMarkupBps);
    const keyPepper = config.keyPepper ?? (await instanceSecret(sql, 'api_key_pepper'));
    return {
      sql,
      url,
      root,
      keyPepper,
      ...(embedded ? { embedded: embedded.location } : {}),
      close: async () => {
        await sql.end({ timeout: 5 });
        await embedded?.stop();
      },
    };
  } catch (error) {
    await sql.end({ timeout: 1 });
    await embedded?.stop();
    throw error;
  }
}
