import { expect, test } from 'bun:test';
import { printedSchema, SCHEMA_FILE } from '../../schema/print.ts';

test('schema.graphql matches the schema the code builds (regenerate with `bun run schema/print.ts`)', async () => {
  expect(await Bun.file(SCHEMA_FILE).text()).toBe(printedSchema());
});
