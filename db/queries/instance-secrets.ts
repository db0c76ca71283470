import { randomBytes } from 'node:crypto';
import type { Db } from '../sql.ts';

const GENERATED_SECRET_BYTES = 32;

/**
 * A secret this installation generated for itself on first start (used when the operator did not
 * configure one). It lives in the database so every replica shares it.
 */
export async function instanceSecret(db: Db, name: string): Promise<string> {
  await db`insert into instance_secrets (name, value) values (${name}, ${randomBytes(GENERATED_SECRET_BYTES).toString('hex')})
    on conflict (name) do nothing`;
  const [row] = await db<{ value: string }[]>`select value from instance_secrets where name = ${name}`;
  if (!row) throw new Error(`instance secret ${name} is missing`);
  return row.value;
}
