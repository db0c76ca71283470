import { startFakeUpstream } from '../tests/fake-upstream.ts';

/** The fake upstream as its own process, so it does not share an event loop with what is measured. */
const upstream = await startFakeUpstream();
process.stdout.write(`${upstream.baseUrl}\n`);
