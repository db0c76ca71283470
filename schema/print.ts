import { lexicographicSortSchema, printSchema } from 'graphql';
import { join } from 'node:path';
import { schema } from './index.ts';

/**
 * `bun run schema/print.ts` regenerates schema.graphql from the code. The file is committed so
 * reviewers and integrators can read the API; a test fails when it is stale.
 */

export const SCHEMA_FILE = join(import.meta.dir, 'schema.graphql');

export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

if (import.meta.main) {
  await Bun.write(SCHEMA_FILE, printedSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
