import { redirect } from '@sveltejs/kit';
import { ApiError, gql } from '$lib/server/api';
import { clearSession } from '$lib/server/session';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
  default: async (event) => {
    if (event.locals.session) {
      try {
        await gql(event, 'mutation SignOut { signOut }');
      } catch (error) {
        // The cookie goes either way: signing out must never fail for the person.
        if (!(error instanceof ApiError)) throw error;
      }
    }
    clearSession(event.cookies, event.url);
    redirect(303, '/signin');
  },
};
