import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../app/config.ts';
import { type Logger, reasonOf } from '../app/log.ts';
import type { RenderedEmail } from './templates.ts';

/**
 * Sends e-mail over SMTP (SMTP_URL), or, when no SMTP server is configured, writes each message as
 * an .eml file to a folder under the data directory, so development needs no mail server and the
 * messages (and their links) can still be opened.
 */

export type OutgoingEmail = RenderedEmail & {
  from: { name: string; address: string };
  to: string;
  /** Ties the message to its outbox row, for the receiving side's logs and for the .eml file name. */
  reference: string;
};

/** `permanent`: the server refused the message for good (a 5xx answer); anything else is retried. */
export type SendResult = { ok: true } | { ok: false; permanent: boolean; error: string; statusCode?: number };

export type Mailer = {
  /** Where messages go: "smtp" or the folder they are written to. */
  destination: string;
  send(message: OutgoingEmail, signal: AbortSignal): Promise<SendResult>;
  close(): void;
};

/** Each bounded well inside the outbox's delivery timeout, so a stuck server fails an attempt, not the worker. */
const SMTP_CONNECTION_TIMEOUT_MS = 10_000;
const SMTP_GREETING_TIMEOUT_MS = 10_000;
const SMTP_SOCKET_TIMEOUT_MS = 20_000;
const MAIL_FOLDER = 'mail';

function failure(error: unknown): SendResult {
  const code = (error as { responseCode?: unknown }).responseCode;
  const statusCode = typeof code === 'number' ? code : undefined;
  const text = reasonOf(error);
  return { ok: false, permanent: statusCode !== undefined && statusCode >= 500, error: text, statusCode };
}

function aborted(signal: AbortSignal): Promise<SendResult> {
  return new Promise((done) => {
    const answer = () => done({ ok: false, permanent: false, error: 'the SMTP server did not answer in time' });
    if (signal.aborted) answer();
    else signal.addEventListener('abort', answer, { once: true });
  });
}

function smtpMailer(smtpUrl: string): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: SMTP_CONNECTION_TIMEOUT_MS,
    greetingTimeout: SMTP_GREETING_TIMEOUT_MS,
    socketTimeout: SMTP_SOCKET_TIMEOUT_MS,
  });
  return {
    destination: 'smtp',
    async send(message, signal) {
      const sending = transport
        .sendMail({
          from: message.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          headers: { 'X-Tollgate-Reference': message.reference },
        })
        .then((): SendResult => ({ ok: true }), failure);
      return Promise.race([sending, aborted(signal)]);
    },
    close: () => transport.close(),
  };
}

function folderMailer(folder: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    destination: folder,
    async send(message) {
      try {
        const info = await transport.sendMail({
          from: message.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          headers: { 'X-Tollgate-Reference': message.reference },
        });
        await mkdir(folder, { recursive: true });
        const stamp = new Date().toISOString().replaceAll(':', '-');
        await writeFile(join(folder, `${stamp}-${message.reference}.eml`), info.message as Buffer);
        return { ok: true };
      } catch (error) {
        return failure(error);
      }
    },
    close: () => transport.close(),
  };
}

export function createMailer(config: Config, log: Logger): Mailer {
  if (config.mail.smtpUrl) return smtpMailer(config.mail.smtpUrl);
  const folder = resolve(config.dataDir, MAIL_FOLDER);
  log.info('e-mail is not configured (SMTP_URL): messages are written to a folder instead', { folder });
  return folderMailer(folder);
}
