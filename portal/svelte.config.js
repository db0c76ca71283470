import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ out: 'build', precompress: false }),
    // One portal serves many hosts (each reseller's custom domain) over http or https, which a
    // single configured ORIGIN cannot describe; src/hooks.server.ts checks instead that a form
    // post's Origin names the host it was sent to.
    csrf: { trustedOrigins: ['*'] },
  },
};

export default config;
