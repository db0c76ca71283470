import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import type { Command } from '../command.ts';
import { EXIT_FAILURE, EXIT_OK } from '../errors.ts';

export const ledgerVerifyCommand: Command = {
  name: 'ledger verify',
  summary: "recompute the ledger's invariants from its entries; exits 1 if any is broken",
  options: {},
  prepare: () => async (session) => {
    const { checks, violations } = await verifyLedger(session.db.sql);
    const clean = violations.length === 0;
    const lines = violations.map((violation) => `violation: ${violation.check}: ${violation.detail}`);
    lines.push(
      clean
        ? `ledger verify: ${checks} checks, clean`
        : `ledger verify: ${checks} checks, ${violations.length} violation(s)`,
    );
    return { json: { checks, clean, violations }, text: lines.join('\n'), exitCode: clean ? EXIT_OK : EXIT_FAILURE };
  },
};
