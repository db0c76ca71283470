import type { GatewayError } from '../../core/errors.ts';
import { openAiErrors } from '../openai/errors.ts';
import type { ErrorShape } from '../protocol.ts';

/**
 * Responses errors: OpenAI's error response (the openai SDK picks its classes from the status),
 * and, once a stream is under way, an `error` event followed by `response.failed`, the two ways
 * Responses clients learn that a stream failed: the openai SDK raises the first as an APIError,
 * Codex reports the second's message.
 */

const encoder = new TextEncoder();

export const responsesErrors: ErrorShape = {
  response: openAiErrors.response,
  event(error: GatewayError) {
    const fields = { code: error.code, message: error.message };
    const failed = { object: 'response', status: 'failed', error: fields, output: [] };
    return encoder.encode(
      `event: error\ndata: ${JSON.stringify({ type: 'error', ...fields, param: error.param })}\n\n` +
        `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', response: failed })}\n\n`,
    );
  },
};
