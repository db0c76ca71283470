import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { MESSAGE_OVERHEAD_TOKENS, promptBound, REQUEST_OVERHEAD_TOKENS } from '../../core/prompt-bound.ts';

test('the prompt bound counts UTF-8 bytes plus per-message and per-request overhead', () => {
  const bound = promptBound('chat', {
    messages: [
      { role: 'user', content: 'héllo' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'ok' },
          { type: 'image_url', image_url: { url: 'x' } },
        ],
      },
    ],
  });
  expect(bound.textBytes).toBe(6 + 2);
  expect(bound.mediaItems).toBe(1);
  expect(bound.tokens).toBe(8 + 2 * MESSAGE_OVERHEAD_TOKENS + REQUEST_OVERHEAD_TOKENS);
});

test('the prompt bound is never below the byte count of any text, so byte-level BPE cannot exceed it', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 5 }), (texts) => {
      const bound = promptBound('chat', { messages: texts.map((content) => ({ role: 'user', content })) });
      const bytes = texts.reduce((sum, t) => sum + new TextEncoder().encode(t).length, 0);
      expect(bound.tokens).toBeGreaterThanOrEqual(bytes);
    }),
  );
});
