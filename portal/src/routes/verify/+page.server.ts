import { ApiError, gql } from '$lib/server/api';
import type { PageServerLoad } from './$types';

/**
 * The link of a verification e-mail lands here and is used at once: whoever can open the link has
 * read the mailbox, which is what verification proves (a mail scanner that opens it proves the same).
 */

const VERIFY = `mutation VerifyEmail($token: String!) { verifyEmail(token: $token) }`;

export const load: PageServerLoad = async (event) => {
  const token = event.url.searchParams.get('token')?.trim() ?? '';
  if (!token) return { verified: false, error: 'This page needs the link from your e-mail.' };
  try {
    await gql<{ verifyEmail: boolean }>(event, VERIFY, { token });
    return { verified: true, error: null };
  } catch (error) {
    if (error instanceof ApiError && error.code !== 'UNAVAILABLE') return { verified: false, error: error.message };
    throw error;
  }
};
