import { startStack } from './harness.ts';

/**
 * Runs the e2e stack by hand for looking at the portal: `TEST_DATABASE_URL=… bun tests/e2e/dev-stack.ts`.
 * Prints the portal's URL and an admin's and a customer's sign-in, then waits for Ctrl-C.
 */

const stack = await startStack();
const admin = await stack.person(stack.root, 'admin', 'admin@example.com');
const customer = await stack.person(stack.root, 'customer', 'customer@example.com');
await stack.credit(customer, 25_000_000_000n);
await stack.browser.close();
console.log(
  JSON.stringify({
    portal: stack.portalUrl,
    api: stack.apiUrl,
    admin: admin.email,
    customer: customer.email,
    password: 'correct horse battery',
  }),
);
process.on('SIGINT', () => void stack.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void stack.close().then(() => process.exit(0)));
