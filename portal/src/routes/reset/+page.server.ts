import { ApiError, gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import type { Actions, PageServerLoad } from './$types';

/**
 * Password reset. Without a token the page asks for an address and always answers the same, as the
 * API does; with the token of a reset e-mail it asks for the new password. Opening the link uses
 * nothing: only submitting the new password does, so a mail scanner cannot spend the link.
 */

const REQUEST = `mutation RequestPasswordReset($email: String!) { requestPasswordReset(email: $email) }`;
const RESET = `mutation ResetPassword($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }`;
const MIN_PASSWORD_LENGTH = 8;

export const load: PageServerLoad = async (event) => {
  let emailConfigured = true;
  try {
    ({ emailConfigured } = await gql<{ emailConfigured: boolean }>(event, 'query EmailConfigured { emailConfigured }'));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  return { token: event.url.searchParams.get('token')?.trim() ?? '', emailConfigured };
};

export const actions: Actions = {
  request: async (event) => {
    const values = await fields(event.request, ['email'] as const);
    if (!values.email) return invalid('email', 'Enter your e-mail address.', values, 'request');
    try {
      await gql<{ requestPasswordReset: boolean }>(event, REQUEST, { email: values.email });
    } catch (error) {
      return failure(error, values, 'request');
    }
    return { requested: true };
  },
  reset: async (event) => {
    const values = await fields(event.request, ['token', 'password', 'confirm'] as const);
    if (values.password.length < MIN_PASSWORD_LENGTH)
      return invalid('password', `A password has at least ${MIN_PASSWORD_LENGTH} characters.`, {}, 'reset');
    if (values.password !== values.confirm) return invalid('confirm', 'The two passwords differ.', {}, 'reset');
    try {
      await gql<{ resetPassword: boolean }>(event, RESET, { token: values.token, password: values.password });
    } catch (error) {
      return failure(error, {}, 'reset');
    }
    return { reset: true };
  },
};
