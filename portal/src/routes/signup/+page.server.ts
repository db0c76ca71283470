import { redirect } from '@sveltejs/kit';
import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { setSession } from '$lib/server/session';
import type { Actions, PageServerLoad } from './$types';

const SIGN_UP = `mutation SignUp($email: String!, $password: String!, $displayName: String) {
  signUp(email: $email, password: $password, displayName: $displayName) { token }
}`;
const MIN_PASSWORD_LENGTH = 8;

export const load: PageServerLoad = ({ locals }) => {
  if (locals.viewer) redirect(303, '/dashboard');
  return {};
};

export const actions: Actions = {
  default: async (event) => {
    const values = await fields(event.request, ['email', 'password', 'displayName'] as const);
    const kept = { email: values.email, displayName: values.displayName };
    if (!values.email) return invalid('email', 'Enter your e-mail address.', kept);
    if (values.password.length < MIN_PASSWORD_LENGTH) return invalid('password', `Choose a password of at least ${MIN_PASSWORD_LENGTH} characters.`, kept);
    try {
      const { signUp } = await gql<{ signUp: { token: string } }>(event, SIGN_UP, { email: values.email, password: values.password, displayName: values.displayName || null });
      setSession(event.cookies, event.url, signUp.token);
    } catch (error) {
      return failure(error, kept);
    }
    redirect(303, '/dashboard?welcome=1');
  },
};
