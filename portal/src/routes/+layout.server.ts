import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals, url }) => {
  // Reading `url` makes this load run on every navigation: the hook fetched the viewer afresh for
  // that request anyway, and the top bar's balance must not stay what the first page showed.
  void url.pathname;
  return { branding: locals.branding, viewer: locals.viewer, unavailable: locals.unavailable };
};
