import { fail, type ActionFailure } from '@sveltejs/kit';
import { ApiError } from './api';

/**
 * What a failed form action answers: the API's message (already written for people), the field it
 * is about when there is one, and the values to put back in the form so nothing typed is lost.
 */
export type FormFailure = { error: string; field: string | null; values: Record<string, string>; action?: string };

export function failure(error: unknown, values: Record<string, string> = {}, action?: string): ActionFailure<FormFailure> {
  if (error instanceof ApiError) {
    const status = error.code === 'UNAUTHENTICATED' ? 401 : error.status >= 500 ? 502 : error.status;
    return fail(status, { error: error.message, field: error.field, values, action });
  }
  throw error;
}

export function invalid(field: string, message: string, values: Record<string, string> = {}, action?: string): ActionFailure<FormFailure> {
  return fail(400, { error: message, field, values, action });
}

/**
 * The posted form. A body that is not a readable form (a `text/plain` post, a cut-off upload) is
 * read as an empty form, so the action answers its usual "enter your …" instead of failing.
 */
export async function formData(request: Request): Promise<FormData> {
  try {
    return await request.formData();
  } catch {
    return new FormData();
  }
}

/** The named text fields of a form, trimmed; absent fields are empty strings. */
export async function fields<K extends string>(request: Request, names: readonly K[]): Promise<Record<K, string>> {
  const data = await formData(request);
  const values = {} as Record<K, string>;
  for (const name of names) {
    const value = data.get(name);
    values[name] = typeof value === 'string' ? value.trim() : '';
  }
  return values;
}
