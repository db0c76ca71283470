import { createSocket } from 'node:dgram';
import { parseIpAddress } from '../../core/ip-address.ts';

/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP) for tests: A, AAAA and TXT records from a
 * table the test changes as it goes. Unknown names answer NXDOMAIN; a known name without records
 * of the asked type answers NOERROR with no answers, as real servers do.
 */

export type Records = { a?: string[]; aaaa?: string[]; txt?: string[] };
export type DnsServer = { address: string; records: Map<string, Records>; close(): void };

const TYPE = { a: 1, txt: 16, aaaa: 28 } as const;
const HEADER_BYTES = 12;
/** Zero, so that a resolver caching answers still sees each change a test makes. */
const TTL_SECONDS = 0;

/** The question's name and type, and where the question ends (to copy it into the answer). */
function question(message: Buffer): { name: string; type: number; end: number } | undefined {
  const labels: string[] = [];
  let offset = HEADER_BYTES;
  for (let length = message[offset] ?? 0; length > 0; length = message[offset] ?? 0) {
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString('latin1'));
    offset += 1 + length;
  }
  if (offset + 5 > message.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: message.readUInt16BE(offset + 1), end: offset + 5 };
}

function rdata(type: number, value: string): Buffer {
  if (type === TYPE.txt) {
    const text = Buffer.from(value);
    return Buffer.concat([Buffer.from([text.length]), text]);
  }
  const address = parseIpAddress(value);
  if (address === undefined) throw new Error(`not an address: ${value}`);
  const bytes = type === TYPE.a ? 4 : 16;
  const out = Buffer.alloc(bytes);
  for (let index = 0; index < bytes; index++) out[index] = Number((address >> BigInt(8 * (bytes - 1 - index))) & 0xffn);
  return out;
}

function answer(message: Buffer, records: Map<string, Records>): Buffer | undefined {
  const asked = question(message);
  if (!asked) return undefined;
  const entry = records.get(asked.name);
  const key = (Object.keys(TYPE) as (keyof typeof TYPE)[]).find((k) => TYPE[k] === asked.type);
  const values = (key && entry?.[key]) || [];
  const header = Buffer.alloc(HEADER_BYTES);
  message.copy(header, 0, 0, 2);
  header.writeUInt16BE(entry ? 0x8180 : 0x8183, 2); // a response, recursion available; NXDOMAIN when unknown
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(values.length, 6);
  const answers = values.map((value) => {
    const data = rdata(asked.type, value);
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
    fixed.writeUInt16BE(asked.type, 2);
    fixed.writeUInt16BE(1, 4);
    fixed.writeUInt32BE(TTL_SECONDS, 6);
    fixed.writeUInt16BE(data.length, 10);
    return Buffer.concat([fixed, data]);
  });
  return Buffer.concat([header, message.subarray(HEADER_BYTES, asked.end), ...answers]);
}

export async function startDnsServer(): Promise<DnsServer> {
  const records = new Map<string, Records>();
  const socket = createSocket('udp4');
  socket.on('message', (message, peer) => {
    const reply = answer(message, records);
    if (reply) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return { address: `127.0.0.1:${port}`, records, close: () => socket.close() };
}
