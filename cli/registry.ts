import type { Command } from './command.ts';
import { accountCreateCommand, accountSetCommand } from './commands/account.ts';
import { balanceCommand } from './commands/balance.ts';
import {
  channelAddCommand,
  channelDisableCommand,
  channelDrainCommand,
  channelEnableCommand,
  channelListCommand,
  channelPriceCommand,
  channelSetCommand,
} from './commands/channel.ts';
import { creditsGrantCommand } from './commands/credits.ts';
import { holdsSweepCommand } from './commands/holds.ts';
import { keyCreateCommand, keyListCommand, keyRevokeCommand } from './commands/key.ts';
import { ledgerVerifyCommand } from './commands/ledger.ts';
import { limitsClearCommand, limitsListCommand, limitsSetCommand, limitsShowCommand } from './commands/limits.ts';
import { migrateCommand } from './commands/migrate.ts';
import { pricingListCommand, pricingSetCommand } from './commands/pricing.ts';
import { reconcileCommand } from './commands/reconcile.ts';
import { reportCommand } from './commands/report.ts';
import { stripeSyncEventsCommand } from './commands/stripe.ts';
import { tenantCreateCommand, tenantListCommand, tenantSetCommand } from './commands/tenant.ts';
import { usageCommand } from './commands/usage.ts';
import { UsageError } from './errors.ts';

/** Every command, in the order `tollgate --help` lists them. */
export const COMMANDS: readonly Command[] = [
  migrateCommand,
  tenantCreateCommand,
  tenantListCommand,
  tenantSetCommand,
  accountCreateCommand,
  accountSetCommand,
  keyCreateCommand,
  keyRevokeCommand,
  keyListCommand,
  creditsGrantCommand,
  balanceCommand,
  pricingSetCommand,
  pricingListCommand,
  limitsSetCommand,
  limitsShowCommand,
  limitsListCommand,
  limitsClearCommand,
  channelAddCommand,
  channelSetCommand,
  channelListCommand,
  channelPriceCommand,
  channelDrainCommand,
  channelDisableCommand,
  channelEnableCommand,
  usageCommand,
  reportCommand,
  ledgerVerifyCommand,
  holdsSweepCommand,
  reconcileCommand,
  stripeSyncEventsCommand,
];

type Lookup = { kind: 'command'; command: Command; rest: string[] } | { kind: 'help'; group?: string };

const HELP_WORDS = new Set(['help', '--help', '-h']);

/** Finds the command named by the first one or two words; a group name alone, or with --help, asks for its help. */
export function lookupCommand(argv: readonly string[]): Lookup {
  const [first, second] = argv;
  if (first === undefined || HELP_WORDS.has(first)) return { kind: 'help' };
  const single = COMMANDS.find((command) => command.name === first);
  if (single) return { kind: 'command', command: single, rest: argv.slice(1) };
  const group = COMMANDS.filter((command) => command.name.startsWith(`${first} `));
  if (group.length === 0) throw new UsageError(`unknown command "${first}" (see: tollgate --help)`);
  const subcommands = group.map((command) => command.name.slice(first.length + 1)).join(', ');
  if (second === undefined) throw new UsageError(`${first}: missing subcommand, one of: ${subcommands}`);
  if (HELP_WORDS.has(second)) return { kind: 'help', group: first };
  const command = group.find((candidate) => candidate.name === `${first} ${second}`);
  if (!command) throw new UsageError(`unknown command "${first} ${second}" (${first} has: ${subcommands})`);
  return { kind: 'command', command, rest: argv.slice(2) };
}
