import { dictionary } from '@zxcvbn-ts/language-common';
import { invalidInput } from './errors.ts';

/**
 * What a password must be: 8 to 200 characters, not only spaces, and not one of the commonest
 * passwords. The list is zxcvbn-ts's (`@zxcvbn-ts/language-common`, about 49 000 passwords ranked
 * by how often they appear in leaked password sets), compared without regard to case or to spaces
 * around it, so "Password" and " qwerty123 " are refused as well.
 */

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 200;

let common: ReadonlySet<string> | undefined;

/** Built on first use: most processes (the CLI, the gateway without sign-ups) never need it. */
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));
  return common;
}

function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.trim().toLowerCase());
}

export function checkPassword(password: string, field: string): string {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)
    throw invalidInput(field, `A password has ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`);
  if (password.trim() === '') throw invalidInput(field, 'A password cannot be only spaces.');
  if (isCommonPassword(password))
    throw invalidInput(field, 'This password is one of the most common ones, which are tried first. Choose another.');
  return password;
}
