import { loadConfig } from '../app/config.ts';
import type { EmbeddedLocation } from '../db/embedded.ts';
import { openDatabase } from '../db/open.ts';
import { flag, parseCommandArgs } from './args.ts';
import type { Output, Runner } from './command.ts';
import { EXIT_OK } from './errors.ts';
import { describeFailure } from './failure.ts';
import { toJson } from './format.ts';
import { commandHelp, generalHelp } from './help.ts';
import { lookupCommand } from './registry.ts';

/**
 * One run of the admin CLI, wherever it runs: `cli/tollgate.ts` calls it with the process's
 * arguments, environment and streams; tests call it in-process with their own. Every failure ends
 * as one line on `err` and an exit code (help.ts), never a stack trace.
 */

/** Where a run reads its standard input and writes: the command's output, and the one-line failure or progress notes. */
export type CliIo = { out(text: string): void; err(line: string): void; input(): Promise<string> };
export type CliEnv = Record<string, string | undefined>;

/** The CLI runs one statement at a time; two connections leave room for postgres.js's own bookkeeping. */
const CLI_MAX_CONNECTIONS = 2;

/**
 * Said once, when a command found no database and made one: an operator who forgot DATABASE_URL
 * (or ran from another folder) learns at once where the data went and how to reach it.
 */
export function createdDatabaseNote(location: EmbeddedLocation, dataDirSetting: string): string {
  return [
    `tollgate: no DATABASE_URL, so a new embedded PostgreSQL database was created in ${location.cluster}`,
    `  (TOLLGATE_DATA_DIR=${dataDirSetting}). The gateway and later commands run with the same`,
    '  TOLLGATE_DATA_DIR use it; set DATABASE_URL to use your own PostgreSQL server instead.',
    `  To connect while the gateway runs: user postgres, database tollgate, password in ${location.passwordFile},`,
    `  host 127.0.0.1, port on line 4 of ${location.cluster}/postmaster.pid.`,
  ].join('\n');
}

async function runWithDatabase(runner: Runner, env: CliEnv, io: CliIo): Promise<Output> {
  const config = loadConfig(env);
  const bootLog: string[] = [];
  const db = await openDatabase(config, {
    log: (line) => bootLog.push(line),
    maxConnections: CLI_MAX_CONNECTIONS,
    applicationName: 'tollgate-cli',
  });
  if (db.embedded?.created) io.err(createdDatabaseNote(db.embedded, config.dataDir));
  try {
    return await runner({ db, config, bootLog, note: io.err, input: io.input });
  } finally {
    await db.close();
  }
}

async function run(argv: readonly string[], env: CliEnv, io: CliIo, current: { command: string }): Promise<number> {
  const lookup = lookupCommand([...argv]);
  if (lookup.kind === 'help') {
    io.out(generalHelp(lookup.group));
    return EXIT_OK;
  }
  current.command = lookup.command.name;
  const args = parseCommandArgs(lookup.command, lookup.rest);
  if (flag(args, 'help')) {
    io.out(commandHelp(lookup.command));
    return EXIT_OK;
  }
  const output = await runWithDatabase(lookup.command.prepare(args), env, io);
  io.out(flag(args, 'json') ? toJson(output.json) : output.text);
  return output.exitCode ?? EXIT_OK;
}

/** Runs `tollgate <argv>` and returns its exit code. */
export async function runTollgate(argv: readonly string[], env: CliEnv, io: CliIo): Promise<number> {
  const current = { command: '' };
  try {
    return await run(argv, env, io, current);
  } catch (error) {
    const failure = describeFailure(error, current.command);
    io.err(failure.message);
    return failure.exitCode;
  }
}
