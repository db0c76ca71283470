import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals }) => ({
  branding: locals.branding,
  viewer: locals.viewer,
  unavailable: locals.unavailable,
});
