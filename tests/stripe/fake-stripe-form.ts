/**
 * The Stripe SDK sends parameters form-encoded with bracketed keys (`line_items[0][price_data][unit_amount]=4500`),
 * in the body for POST and in the query for GET. This turns them back into nested objects and arrays
 * of strings, so the fake Stripe and the tests can read what was sent.
 */

type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type Form = { [key: string]: FormValue };

function segments(key: string): string[] {
  const first = key.indexOf('[');
  if (first === -1) return [key];
  const rest = key.slice(first).match(/\[([^\]]*)\]/g) ?? [];
  return [key.slice(0, first), ...rest.map((part) => part.slice(1, -1))];
}

function container(next: string): FormValue {
  return next === '' || /^\d+$/.test(next) ? [] : {};
}

function assign(target: Form | FormValue[], path: string[], value: string): void {
  const [head, ...tail] = path;
  if (head === undefined) return;
  if (Array.isArray(target)) {
    const index = head === '' ? target.length : Number(head);
    if (tail.length === 0) target[index] = value;
    else {
      target[index] ??= container(tail[0] ?? '');
      assign(target[index] as Form | FormValue[], tail, value);
    }
    return;
  }
  if (tail.length === 0) target[head] = value;
  else {
    target[head] ??= container(tail[0] ?? '');
    assign(target[head] as Form | FormValue[], tail, value);
  }
}

export function decodeForm(params: URLSearchParams): Form {
  const form: Form = {};
  for (const [key, value] of params) assign(form, segments(key), value);
  return form;
}

/** A nested string at a path of keys, or undefined. */
export function field(form: FormValue | undefined, ...path: (string | number)[]): string | undefined {
  let current: FormValue | undefined = form;
  for (const key of path) {
    if (current === undefined || typeof current === 'string') return undefined;
    current = Array.isArray(current) ? current[Number(key)] : current[String(key)];
  }
  return typeof current === 'string' ? current : undefined;
}

/** A flat string map (metadata) at a path, or {}. */
export function stringMap(form: FormValue | undefined): Record<string, string> {
  if (form === undefined || typeof form === 'string' || Array.isArray(form)) return {};
  return Object.fromEntries(
    Object.entries(form).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
