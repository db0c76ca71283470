import type { LogLevel } from './config.ts';

/**
 * Structured JSON logs, one line per event. Callers pass fields, never request bodies or secrets;
 * `redact` is the last line of defence for anything that looks like a key.
 */

export type Fields = Record<string, string | number | boolean | null | undefined>;
export type Logger = {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
};

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_PATTERN =
  /\b(tg-[0-9A-Za-z]{8})[0-9A-Za-z]{20,}|\b((?:sk|rk|pk)_(?:live|test)_|sk-or-v1-|sk-|whsec_|tgm-|tgv-|tgr-|tgwh_)[0-9A-Za-z_-]{8,}/g;

/** What a caught value says, for a log line or a one-line error: its message when it is an Error. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function redact(text: string): string {
  return text.replace(SECRET_PATTERN, (_, keyPrefix: string | undefined, secretPrefix: string | undefined) =>
    keyPrefix ? `${keyPrefix}…` : `${secretPrefix ?? ''}[redacted]`,
  );
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const threshold = ORDER[level];
  const emit = (lineLevel: LogLevel, message: string, fields?: Fields) => {
    if (ORDER[lineLevel] < threshold) return;
    write(redact(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, message, ...fields })));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}
