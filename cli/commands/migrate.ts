import { listMigrations } from '../../db/migrate.ts';
import type { Command } from '../command.ts';

/** db/open.ts logs each migration it applies in this form; opening the database is what migrates. */
const APPLIED_LINE = /^applied migration (\S+)$/;

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations (every Tollgate process also does this at start-up)',
  options: {},
  prepare: () => async (session) => {
    const applied = session.bootLog.flatMap((line) => APPLIED_LINE.exec(line)?.[1] ?? []);
    const known = await listMigrations();
    const database = session.config.databaseUrl ? 'external' : 'embedded';
    const text = [
      ...session.bootLog.filter((line) => !APPLIED_LINE.test(line)),
      ...applied.map((name) => `applied ${name}`),
      `migrate: ${applied.length === 0 ? 'already up to date' : `applied ${applied.length}`}, ${known.length} migration(s) in total (${database} database)`,
    ];
    return { json: { applied, total: known.length, database }, text: text.join('\n') };
  },
};
