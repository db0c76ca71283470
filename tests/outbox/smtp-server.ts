import { SMTPServer } from 'smtp-server';
import { freePort } from '../../db/embedded.ts';

/**
 * A real SMTP server on 127.0.0.1 (the smtp-server package) that keeps what it receives. It can be
 * taken down and brought back on the same port, as a mail relay that goes away for a while.
 */

export type ReceivedMail = { to: string[]; from: string; raw: string; subject: string; text: string };

export type TestSmtp = {
  url: string;
  messages: ReceivedMail[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
};

/** Decodes a quoted-printable body: soft line breaks out, =XX escapes back to bytes. */
function decodeQuotedPrintable(text: string): string {
  const bytes = text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** The text/plain part of a message as nodemailer writes it (multipart/alternative, QP or 7bit). */
function plainText(raw: string): string {
  const part = /Content-Type: text\/plain[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*?\r?\n([\s\S]*?)\r?\n--/i.exec(raw);
  const body = part?.[1] ?? '';
  return /Content-Transfer-Encoding: quoted-printable/i.test(raw) ? decodeQuotedPrintable(body) : body;
}

function subjectOf(raw: string): string {
  const line = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1] ?? '';
  const unfolded = line.replace(/\r?\n[ \t]/g, ' ');
  return unfolded.replace(/=\?utf-8\?Q\?([^?]*)\?=/gi, (_, q: string) => decodeQuotedPrintable(q.replaceAll('_', ' ')));
}

export async function startTestSmtp(): Promise<TestSmtp> {
  const port = await freePort();
  const messages: ReceivedMail[] = [];
  let server: SMTPServer | undefined;
  const listen = () =>
    new Promise<void>((done, fail) => {
      const next = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS', 'AUTH'],
        logger: false,
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            const envelope = session.envelope;
            messages.push({
              to: envelope.rcptTo.map((r) => r.address),
              from: envelope.mailFrom ? envelope.mailFrom.address : '',
              raw,
              subject: subjectOf(raw),
              text: plainText(raw),
            });
            callback();
          });
        },
      });
      next.on('error', fail);
      next.listen(port, '127.0.0.1', () => {
        server = next;
        done();
      });
    });
  const stop = () =>
    new Promise<void>((done) => {
      if (!server) return done();
      server.close(() => done());
      server = undefined;
    });
  await listen();
  return { url: `smtp://127.0.0.1:${port}`, messages, down: stop, up: listen, close: stop };
}

/** The first link in a message's text that starts with the given prefix. */
export function linkIn(mail: ReceivedMail, prefix: string): string | undefined {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${escaped}[^\\s]*`).exec(mail.text)?.[0];
}
