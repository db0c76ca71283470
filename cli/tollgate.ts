#!/usr/bin/env bun
/**
 * The admin CLI: `bun run tollgate <command>`. Output goes to stdout (text, or one JSON document
 * with --json); every failure is one line on stderr and an exit code (see help.ts).
 */
import { describeFailure } from './failure.ts';
import { runTollgate } from './run.ts';

function fail(error: unknown): never {
  const failure = describeFailure(error, '');
  console.error(failure.message);
  process.exit(failure.exitCode);
}

// Whatever escapes (a rejection in a library callback) still ends as one line, never a stack trace.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

process.exit(
  await runTollgate(process.argv.slice(2), process.env, {
    out: (text) => console.log(text),
    err: (line) => console.error(line),
    input: () => Bun.stdin.text(),
  }),
);
