import { redirect } from '@sveltejs/kit';
import { redirectTarget } from '$lib/redirect';
import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { setSession } from '$lib/server/session';
import { safeNext } from '$lib/server/viewer';
import type { Actions, PageServerLoad } from './$types';

const SIGN_IN = `mutation SignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { token account { role } } }`;

export const load: PageServerLoad = ({ locals, url }) => {
  if (locals.viewer) redirect(303, safeNext(url.searchParams.get('next')));
  // Only a target that would be followed goes into the form; the rest is dropped here already.
  return { next: redirectTarget(url.searchParams.get('next'), '') };
};

export const actions: Actions = {
  default: async (event) => {
    const values = await fields(event.request, ['email', 'password', 'next'] as const);
    const kept = { email: values.email };
    if (!values.email) return invalid('email', 'Enter your e-mail address.', kept);
    if (!values.password) return invalid('password', 'Enter your password.', kept);
    let role: string;
    try {
      const { signIn } = await gql<{ signIn: { token: string; account: { role: string } } }>(event, SIGN_IN, { email: values.email, password: values.password });
      setSession(event.cookies, event.url, signIn.token);
      role = signIn.account.role;
    } catch (error) {
      return failure(error, kept);
    }
    redirect(303, redirectTarget(values.next, role === 'CUSTOMER' ? '/dashboard' : '/admin'));
  },
};
