import { gql, type ApiCaller } from './api';

/**
 * Who a limit is for, picked the way an admin knows them: an account by its e-mail, a key from
 * that account's keys. The ids the API wants are looked up here, so no page asks for an id.
 */

export type SubjectKind = 'TENANT' | 'WHOLE_TENANT' | 'ACCOUNT' | 'API_KEY';
export type KeyOption = { id: string; name: string; publicId: string; active: boolean };
export type Subject = { account: { id: string; email: string }; keys: KeyOption[] };

const MAX_EMAIL_LENGTH = 254;
/** Enough for the e-mail suggestions of a tenant's first customers; the field takes any e-mail. */
const SUGGESTED_EMAILS = 100;

/** A search for an exact e-mail finds it among the first few; each may show this many keys. */
const MATCHES = 5;
const KEYS_PER_ACCOUNT = 50;

const FIND = `query FindSubject($search: String!) {
  customers(search: $search, first: ${MATCHES}) { edges { node { id email apiKeys(first: ${KEYS_PER_ACCOUNT}) { edges { node { id name publicId active } } } } } }
}`;
type Found = {
  customers: { edges: { node: { id: string; email: string; apiKeys: { edges: { node: KeyOption }[] } } }[] };
};

export function subjectKind(raw: string | null): SubjectKind {
  return raw === 'ACCOUNT' || raw === 'API_KEY' || raw === 'WHOLE_TENANT' ? raw : 'TENANT';
}

/** The account with exactly this e-mail (case aside) and its active keys; null when there is none. */
export async function findSubject(caller: ApiCaller, email: string): Promise<Subject | null> {
  const wanted = email.trim().toLowerCase();
  if (!wanted || wanted.length > MAX_EMAIL_LENGTH) return null;
  const { customers } = await gql<Found>(caller, FIND, { search: wanted });
  const match = customers.edges.map((e) => e.node).find((node) => node.email.toLowerCase() === wanted);
  if (!match) return null;
  return {
    account: { id: match.id, email: match.email },
    keys: match.apiKeys.edges.map((e) => e.node).filter((key) => key.active),
  };
}

export async function suggestedEmails(caller: ApiCaller): Promise<string[]> {
  const { customers } = await gql<{ customers: { edges: { node: { email: string } }[] } }>(
    caller,
    `query Emails { customers(first: ${SUGGESTED_EMAILS}) { edges { node { email } } } }`,
  );
  return customers.edges.map((e) => e.node.email);
}
