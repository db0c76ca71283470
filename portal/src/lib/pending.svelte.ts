import type { SubmitFunction } from '@sveltejs/kit';

/**
 * A form's loading state for `use:enhance`: `busy` is true from submit until the page has been
 * updated with the answer, so buttons can show a spinner and refuse a double submit. Without
 * JavaScript the form still posts normally.
 */
export function pending(options: { reset?: boolean } = {}) {
  let busy = $state(false);
  const submit: SubmitFunction = () => {
    busy = true;
    return async ({ update }) => {
      await update({ reset: options.reset ?? true });
      busy = false;
    };
  };
  return {
    get busy() {
      return busy;
    },
    submit,
  };
}
