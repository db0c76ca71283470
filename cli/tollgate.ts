#!/usr/bin/env bun
/**
 * The admin CLI: `bun run tollgate <command>`. Output goes to stdout (text, or one JSON document
 * with --json); every failure is one line on stderr and an exit code (see help.ts).
 */
import { openDatabase } from '../db/open.ts';
import { loadConfig } from '../app/config.ts';
import { flag, parseCommandArgs } from './args.ts';
import type { Output, Runner } from './command.ts';
import { EXIT_OK } from './errors.ts';
import { describeFailure } from './failure.ts';
import { toJson } from './format.ts';
import { commandHelp, generalHelp } from './help.ts';
import { lookupCommand } from './registry.ts';

/** The CLI runs one statement at a time; two connections leave room for postgres.js's own bookkeeping. */
const CLI_MAX_CONNECTIONS = 2;

async function runWithDatabase(runner: Runner): Promise<Output> {
  const config = loadConfig();
  const bootLog: string[] = [];
  const db = await openDatabase(config, {
    log: (line) => bootLog.push(line),
    maxConnections: CLI_MAX_CONNECTIONS,
    applicationName: 'tollgate-cli',
  });
  try {
    return await runner({ db, config, bootLog });
  } finally {
    await db.close();
  }
}

async function main(argv: string[], current: { command: string }): Promise<number> {
  const lookup = lookupCommand(argv);
  if (lookup.kind === 'help') {
    console.log(generalHelp(lookup.group));
    return EXIT_OK;
  }
  current.command = lookup.command.name;
  const args = parseCommandArgs(lookup.command, lookup.rest);
  if (flag(args, 'help')) {
    console.log(commandHelp(lookup.command));
    return EXIT_OK;
  }
  const output = await runWithDatabase(lookup.command.prepare(args));
  console.log(flag(args, 'json') ? toJson(output.json) : output.text);
  return output.exitCode ?? EXIT_OK;
}

const current = { command: '' };

function fail(error: unknown): never {
  const failure = describeFailure(error, current.command);
  console.error(failure.message);
  process.exit(failure.exitCode);
}

// Whatever escapes (a rejection in a library callback) still ends as one line, never a stack trace.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
  process.exit(await main(process.argv.slice(2), current));
} catch (error) {
  fail(error);
}
