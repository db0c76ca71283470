import type { Branding, Viewer } from '$lib/types';

declare global {
  namespace App {
    interface Locals {
      /** The API session token from the portal's own HttpOnly cookie; null when signed out. */
      session: string | null;
      viewer: Viewer | null;
      branding: Branding;
      /** Set when the API could not be reached while loading the request's tenant. */
      unavailable: boolean;
    }
    interface Error {
      message: string;
    }
  }
}

export {};
