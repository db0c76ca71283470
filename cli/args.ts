import { parseArgs } from 'node:util';
import type { Command, OptionSpec } from './command.ts';
import { UsageError } from './errors.ts';

/** Every command accepts these. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print one JSON document on stdout instead of text' },
  help: { type: 'boolean', help: 'show this help' },
};

export type ParsedArgs = {
  command: string;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
};

type ParseArgsError = Error & { code?: string };

/** node:util's messages span lines and suggest `--` tricks; the CLI promises one short line per error. */
function parseFailure(error: ParseArgsError): string {
  const option = /'(-{1,2}[^' <]+)/.exec(error.message)?.[1] ?? 'an option';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (error.message.includes('does not take an argument')) return `${option} does not take a value`;
  if (error.message.includes('ambiguous'))
    return `${option} needs a value (write ${option}=-VALUE for one that starts with a dash)`;
  if (error.message.includes('argument missing')) return `${option} needs a value`;
  return error.message.split('\n')[0] ?? error.message;
}

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const options = { ...command.options, ...GLOBAL_OPTIONS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    if (!(error instanceof Error) || !(error as ParseArgsError).code?.startsWith('ERR_PARSE_ARGS')) throw error;
    throw new UsageError(`${command.name}: ${parseFailure(error)} (see: tollgate ${command.name} --help)`);
  }
  const values = parsed.values as ParsedArgs['values'];
  const expected = command.positional ? 1 : 0;
  if (values.help !== true) {
    if (parsed.positionals.length > expected)
      throw new UsageError(`${command.name}: unexpected argument "${parsed.positionals[expected]}"`);
    if (parsed.positionals.length < expected && command.positional)
      throw new UsageError(`${command.name}: missing ${command.positional.name}`);
  }
  return { command: command.name, values, positionals: parsed.positionals };
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`option --${name} is not declared as a single string`);
  if (value.trim() === '') throw new UsageError(`${args.command}: --${name} must not be empty`);
  return value.trim();
}

export function requiredString(args: ParsedArgs, name: string): string {
  const value = optionalString(args, name);
  if (value === undefined) throw new UsageError(`${args.command}: --${name} is required`);
  return value;
}

export function strings(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`option --${name} is not declared as multiple`);
  return value.map((item) => {
    if (item.trim() === '') throw new UsageError(`${args.command}: --${name} must not be empty`);
    return item.trim();
  });
}

export function positional(args: ParsedArgs): string {
  const value = args.positionals[0];
  if (value === undefined) throw new UsageError(`${args.command}: missing argument`);
  return value;
}
