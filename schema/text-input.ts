import { invalidInput } from './errors.ts';

/**
 * Text a person types, bounded before it reaches the database or a page: a longer value is
 * refused with INVALID_INPUT naming its field, so no name of thousands of characters is stored
 * to break the portal's layout or a CSV export later.
 */

/** Names of people, keys, tenants, tokens: a line of text. */
export const MAX_NAME_LENGTH = 200;
/** A search box or a filter on a name or model id. */
export const MAX_SEARCH_LENGTH = 200;
/** RFC 5321 bounds an e-mail address at 254 characters. */
export const MAX_EMAIL_LENGTH = 254;

/** The trimmed text, or null when it is empty; refused when longer than `maxLength`. */
export function boundedText(value: string | null | undefined, field: string, maxLength: number): string | null {
  const text = value?.trim() || null;
  if (text && text.length > maxLength) throw invalidInput(field, `At most ${maxLength} characters.`);
  return text;
}
