import type { Database } from '../db/open.ts';
import type { Config } from '../app/config.ts';
import type { ParsedArgs } from './args.ts';

export type OptionSpec = {
  type: 'string' | 'boolean';
  /** May be given more than once; the values are collected in order. */
  multiple?: boolean;
  /** Placeholder shown in help, e.g. `USD`. */
  value?: string;
  help: string;
};

/** What a command produced: the JSON document for `--json`, the text otherwise, and the exit code. */
export type Output = { json: unknown; text: string; exitCode?: number };

export type Session = {
  db: Database;
  config: Config;
  /** Lines the database bootstrap logged (cluster creation, applied migrations). */
  bootLog: readonly string[];
  /** A progress or warning line for the operator (stderr), apart from the command's output. */
  note(line: string): void;
  /** All of standard input, for the few commands that read a secret there. */
  input(): Promise<string>;
};

export type Runner = (session: Session) => Promise<Output>;

/**
 * A command validates all of its input in `prepare`, before any database is opened, so bad input
 * fails fast and the same way whether or not a database is reachable; `prepare` returns the work.
 */
export type Command = {
  name: string;
  summary: string;
  positional?: { name: string; help: string };
  options: Record<string, OptionSpec>;
  prepare: (args: ParsedArgs) => Runner;
};
