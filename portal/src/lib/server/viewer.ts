import { error, redirect, type RequestEvent } from '@sveltejs/kit';
import { redirectTarget } from '$lib/redirect';
import type { Viewer } from '$lib/types';

/** Guards for loads and actions: a signed-out visitor goes to sign-in and comes back afterwards. */

export function requireViewer(event: Pick<RequestEvent, 'locals' | 'url'>): Viewer {
  const viewer = event.locals.viewer;
  if (!viewer) redirect(303, `/signin?next=${encodeURIComponent(event.url.pathname + event.url.search)}`);
  return viewer;
}

export function requireAccount(event: Pick<RequestEvent, 'locals' | 'url'>): Viewer & { account: NonNullable<Viewer['account']> } {
  const viewer = requireViewer(event);
  const account = viewer.account;
  if (!account) error(403, 'This page is for people with an account; a management token has none.');
  return { ...viewer, account };
}

export function requireAdmin(event: Pick<RequestEvent, 'locals' | 'url'>): Viewer {
  const viewer = requireViewer(event);
  if (!viewer.isAdmin) error(403, 'Only the administrators of this service can open the console.');
  return viewer;
}

/** A path of this portal to return to after signing in (see $lib/redirect); else the dashboard. */
export function safeNext(raw: string | null): string {
  return redirectTarget(raw, '/dashboard');
}
