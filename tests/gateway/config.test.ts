import { describe, expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../app/config.ts';

/** The hold expiry and the sweep period, which a crashed replica's holds depend on. */

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('hold expiry settings', () => {
  test('default to a 15-minute hold TTL and a 30 s sweep', () => {
    expect(loadConfig({})).toMatchObject({ holdTtlSeconds: 900, sweepIntervalSeconds: 30 });
  });

  test('accept whole seconds', () => {
    expect(loadConfig({ TOLLGATE_HOLD_TTL_SECONDS: '4', TOLLGATE_SWEEP_INTERVAL_SECONDS: '1' })).toMatchObject({
      holdTtlSeconds: 4,
      sweepIntervalSeconds: 1,
    });
  });

  test('refuse zero, fractions, words and values past the maximum, naming the variable', () => {
    expect(refusal({ TOLLGATE_HOLD_TTL_SECONDS: '0' })).toBe(
      'TOLLGATE_HOLD_TTL_SECONDS: must be a whole number of seconds from 1 to 604800, got "0"',
    );
    expect(refusal({ TOLLGATE_HOLD_TTL_SECONDS: '1.5' })).toStartWith('TOLLGATE_HOLD_TTL_SECONDS:');
    expect(refusal({ TOLLGATE_SWEEP_INTERVAL_SECONDS: 'often' })).toStartWith('TOLLGATE_SWEEP_INTERVAL_SECONDS:');
    expect(refusal({ TOLLGATE_SWEEP_INTERVAL_SECONDS: '61' })).toBe(
      'TOLLGATE_SWEEP_INTERVAL_SECONDS: must be a whole number of seconds from 1 to 60, got "61"',
    );
  });
});
