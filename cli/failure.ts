import postgres from 'postgres';
import { isConnectionError } from '../db/sql.ts';
import { ConfigError } from '../app/config.ts';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.ts';

/** Unique constraints an operator can run into, in words; the constraint names come from the migrations. */
const TAKEN: Record<string, string> = {
  tenants_slug_key: 'a tenant with this slug already exists',
  tenants_custom_domain_key: 'another tenant already uses this domain',
  accounts_tenant_email: 'an account with this email already exists in this tenant',
};

/** Integrity and data errors mean the input was refused; other database errors are runtime failures. */
const REFUSED_SQLSTATE = /^(22|23)/;

type Failure = { message: string; exitCode: number };

function databaseFailure(error: postgres.PostgresError, command: string): Failure {
  const prefix = command ? `${command}: ` : '';
  if (error.code === '23505') {
    return {
      message: `${prefix}${TAKEN[error.constraint_name ?? ''] ?? `already exists (${error.detail ?? error.constraint_name})`}`,
      exitCode: EXIT_USAGE,
    };
  }
  if (REFUSED_SQLSTATE.test(error.code))
    return { message: `${prefix}refused by the database: ${error.message}`, exitCode: EXIT_USAGE };
  return { message: `${prefix}database error: ${error.message}`, exitCode: EXIT_FAILURE };
}

/**
 * Turns anything thrown into the one line the CLI prints. Messages never carry a stack, and the
 * database URL (which holds the password) is never part of them.
 */
export function describeFailure(error: unknown, command: string): Failure {
  let failure: Failure;
  if (error instanceof CliError) failure = { message: error.message, exitCode: error.exitCode };
  else if (error instanceof ConfigError) failure = { message: `configuration: ${error.message}`, exitCode: EXIT_USAGE };
  else if (error instanceof postgres.PostgresError) failure = databaseFailure(error, command);
  else if (isConnectionError(error))
    failure = { message: `cannot reach the database: ${(error as Error).message}`, exitCode: EXIT_FAILURE };
  else if (error instanceof Error) failure = { message: error.message || error.name, exitCode: EXIT_FAILURE };
  else failure = { message: String(error), exitCode: EXIT_FAILURE };
  return { ...failure, message: `tollgate: ${failure.message.replace(/\s*\n\s*/g, ' ').trim()}` };
}
