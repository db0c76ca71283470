import { describe, expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../app/config.ts';

/** The e-mail and webhook variables, read and checked in app/config.ts like every other. */

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('e-mail and webhook settings', () => {
  test('default to no SMTP server, a sender on the public host, and no private webhook targets', () => {
    const config = loadConfig({ PUBLIC_URL: 'https://api.acme.test' });
    expect(config.mail).toEqual({ smtpUrl: undefined, from: 'Tollgate <no-reply@api.acme.test>' });
    expect(config.outbound.allowPrivate).toBe(false);
    expect(config.deprecations).toEqual([]);
  });

  test('accept smtp and smtps URLs, a named or bare sender, and on for private targets', () => {
    const config = loadConfig({
      SMTP_URL: 'smtps://user:pw@smtp.acme.test:465',
      SMTP_FROM: 'Acme AI <ai@acme.test>',
      TOLLGATE_OUTBOUND_ALLOW_PRIVATE: 'on',
    });
    expect(config.mail).toEqual({ smtpUrl: 'smtps://user:pw@smtp.acme.test:465', from: 'Acme AI <ai@acme.test>' });
    expect(config.outbound.allowPrivate).toBe(true);
    expect(loadConfig({ SMTP_FROM: 'ai@acme.test' }).mail.from).toBe('ai@acme.test');
  });

  test('refuse another scheme, a sender that is no address, and a switch that is not on or off, naming the variable', () => {
    expect(refusal({ SMTP_URL: 'http://smtp.acme.test' })).toBe('SMTP_URL: must use smtp: or smtps:, got http:');
    expect(refusal({ SMTP_FROM: 'nobody' })).toStartWith('SMTP_FROM: must be an address');
    expect(refusal({ TOLLGATE_OUTBOUND_ALLOW_PRIVATE: 'maybe' })).toBe(
      'TOLLGATE_OUTBOUND_ALLOW_PRIVATE: must be on or off, got "maybe"',
    );
    expect(refusal({ TOLLGATE_WEBHOOK_ALLOW_PRIVATE: 'maybe' })).toBe(
      'TOLLGATE_WEBHOOK_ALLOW_PRIVATE: must be on or off, got "maybe"',
    );
  });

  test('still read the old TOLLGATE_WEBHOOK_ALLOW_PRIVATE as the one outbound setting, with a deprecation line', () => {
    const old = loadConfig({ TOLLGATE_WEBHOOK_ALLOW_PRIVATE: 'on' });
    expect(old.outbound.allowPrivate).toBe(true);
    expect(old.deprecations).toEqual([
      'TOLLGATE_WEBHOOK_ALLOW_PRIVATE is deprecated: it is read as TOLLGATE_OUTBOUND_ALLOW_PRIVATE, which also covers webhooks; rename it.',
    ]);
    const both = loadConfig({ TOLLGATE_WEBHOOK_ALLOW_PRIVATE: 'on', TOLLGATE_OUTBOUND_ALLOW_PRIVATE: 'off' });
    expect(both.outbound.allowPrivate).toBe(false);
    expect(both.deprecations[0]).toStartWith('TOLLGATE_WEBHOOK_ALLOW_PRIVATE is deprecated and ignored');
  });
});
