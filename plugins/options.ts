/** Small readers for plugin options from the route table; each error names the option. */

export function booleanOption(raw: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = raw[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new Error(`option ${name} must be true or false`);
  return value;
}

export function stringOption<T extends string>(
  raw: Record<string, unknown>,
  name: string,
  allowed: readonly T[] | null,
  fallback?: T,
): T {
  const value = raw[name] ?? fallback;
  if (typeof value !== 'string' || (allowed !== null && !allowed.includes(value as T))) {
    throw new Error(`option ${name} must be ${allowed ? `one of ${allowed.join(', ')}` : 'a string'}`);
  }
  return value as T;
}

export function optionalNumberOption(
  raw: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw new Error(`option ${name} must be a number from ${min} to ${max}`);
  return value;
}

export function noOptions(raw: Record<string, unknown>): Record<string, never> {
  const names = Object.keys(raw);
  if (names.length > 0) throw new Error(`takes no options (got ${names.join(', ')})`);
  return {};
}

export function onlyKnownOptions(raw: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(raw).filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new Error(`unknown option ${unknown.join(', ')} (known: ${known.join(', ') || 'none'})`);
}
