import net from 'node:net';

/**
 * HTTP/1.1 written by hand on a plain socket, for what `fetch` cannot send: request targets as
 * written (dot segments, backslashes, encoded separators), odd `Host` headers, bodies that stop
 * half-way, and several requests in one write.
 */

const RAW_TIMEOUT_MS = 5_000;

export type RawAnswer = { text: string; statuses: number[]; closed: boolean };

/** The status of every response head in `text`, in order. */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/**
 * Writes `bytes` at once and collects what comes back until the server closes the connection or
 * `waitMs` passes (then it is closed by us, and `closed` is false).
 */
export function rawExchange(port: number, bytes: string, waitMs = RAW_TIMEOUT_MS): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, statuses: statusesOf(text), closed: false });
    }, waitMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, statuses: statusesOf(text), closed: true });
    });
  });
}

/** One GET with the target and Host exactly as given (no Host line when `host` is null). */
export async function rawGet(port: number, target: string, host: string | null = 'localhost'): Promise<number> {
  const hostLine = host === null ? '' : `Host: ${host}\r\n`;
  const answer = await rawExchange(port, `GET ${target} HTTP/1.1\r\n${hostLine}Connection: close\r\n\r\n`);
  return answer.statuses[0] ?? 0;
}
