import { GLOBAL_OPTIONS } from './args.ts';
import type { Command, OptionSpec } from './command.ts';
import { COMMANDS } from './registry.ts';

function optionLines(options: Record<string, OptionSpec>): string[] {
  const labels = Object.entries(options).map(
    ([name, spec]) => [`--${name}${spec.value ? ` ${spec.value}` : ''}`, spec.help] as const,
  );
  const width = Math.max(...labels.map(([label]) => label.length));
  return labels.map(([label, help]) => `  ${label.padEnd(width + 2)}${help}`);
}

export function commandHelp(command: Command): string {
  const positional = command.positional ? ` ${command.positional.name}` : '';
  const options = Object.keys(command.options).length > 0 ? ' [options]' : '';
  return [
    `usage: tollgate ${command.name}${positional}${options}`,
    '',
    command.summary,
    '',
    ...(command.positional ? [`  ${command.positional.name}  ${command.positional.help}`, ''] : []),
    'options:',
    ...optionLines({ ...command.options, ...GLOBAL_OPTIONS }),
  ].join('\n');
}

/** The list of commands, or of one group's commands. */
export function generalHelp(group?: string): string {
  const commands = group === undefined ? COMMANDS : COMMANDS.filter((command) => command.name.startsWith(`${group} `));
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    `usage: tollgate ${group ?? '<command>'}${group ? ' <subcommand>' : ''} [options]`,
    '',
    ...commands.map((command) => `  ${command.name.padEnd(width + 2)}${command.summary}`),
    '',
    'Every command accepts --json (one JSON document on stdout) and --help.',
    'Exit codes: 0 done, 1 runtime failure (or ledger violations), 2 bad input or configuration.',
    'Configuration comes from the environment, as for the gateway: see docs/configuration.md.',
  ].join('\n');
}
