import type { Answer } from './answer.ts';

/**
 * The wire shapes of chat and legacy completions, in OpenAI's exact field layout. Stream events are
 * assembled from string fragments rather than JSON.stringify of objects: a benchmark drives tens of
 * thousands of them per second through this code, and only the token text needs escaping.
 */
export type Format = {
  object: string;
  streamObject: string;
  /** Choices sent before the first token (the assistant role, the tool call's name). */
  openingChoices(answer: Answer): string[];
  pieceChoice(answer: Answer, text: string, index: number): string;
  finishChoice(reason: string): string;
  /** The single choice of a non-stream answer. */
  bodyChoice(answer: Answer): unknown;
};

const FAKE_SIGNATURE = 'fake-signature';

/** OpenRouter's reasoning detail for a reasoning piece, signed as Anthropic models sign theirs. */
const reasoningDetail = (text: string) => ({
  type: 'reasoning.text',
  text,
  signature: FAKE_SIGNATURE,
  format: 'anthropic-claude-v1',
  index: 0,
});

function chatPieceChoice(answer: Answer, text: string, index: number): string {
  const delta =
    answer.tool !== null
      ? `{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(text)}}}]}`
      : answer.signedReasoning && index === 0
        ? JSON.stringify({ reasoning: text, reasoning_details: [reasoningDetail(text)] })
        : `{"content":${JSON.stringify(text)}}`;
  return `{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}`;
}

function chatOpeningChoices(answer: Answer): string[] {
  const role = '{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}';
  const opening =
    answer.reasoning === null
      ? [role]
      : [
          role,
          `{"index":0,"delta":{"reasoning":${JSON.stringify(answer.reasoning)}},"logprobs":null,"finish_reason":null}`,
        ];
  if (answer.tool === null) return opening;
  const call = `{"index":0,"id":"${answer.tool.callId}","type":"function","function":{"name":${JSON.stringify(answer.tool.name)},"arguments":""}}`;
  return [...opening, `{"index":0,"delta":{"tool_calls":[${call}]},"logprobs":null,"finish_reason":null}`];
}

function chatBodyChoice(answer: Answer): unknown {
  const text = answer.pieces.join('');
  const signed = answer.signedReasoning ? (answer.pieces[0] ?? '') : null;
  const shown = answer.reasoning === null ? {} : { reasoning: answer.reasoning };
  const message =
    signed !== null
      ? {
          role: 'assistant',
          content: answer.pieces.slice(1).join(''),
          refusal: null,
          reasoning: signed,
          reasoning_details: [reasoningDetail(signed)],
        }
      : answer.tool === null
        ? { role: 'assistant', content: text, refusal: null, ...shown }
        : {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              { id: answer.tool.callId, type: 'function', function: { name: answer.tool.name, arguments: text } },
            ],
            ...shown,
          };
  return {
    index: 0,
    logprobs: null,
    finish_reason: answer.finishReason,
    native_finish_reason: answer.finishReason,
    message,
  };
}

export const CHAT_FORMAT: Format = {
  object: 'chat.completion',
  streamObject: 'chat.completion.chunk',
  openingChoices: chatOpeningChoices,
  pieceChoice: chatPieceChoice,
  finishChoice: (reason) =>
    `{"index":0,"delta":{},"logprobs":null,"finish_reason":"${reason}","native_finish_reason":"${reason}"}`,
  bodyChoice: chatBodyChoice,
};

export const TEXT_FORMAT: Format = {
  object: 'text_completion',
  streamObject: 'text_completion',
  openingChoices: () => [],
  pieceChoice: (_answer, text) => `{"index":0,"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":null}`,
  finishChoice: (reason) => `{"index":0,"text":"","logprobs":null,"finish_reason":"${reason}"}`,
  bodyChoice: (answer) => ({
    index: 0,
    text: answer.pieces.join(''),
    logprobs: null,
    finish_reason: answer.finishReason,
  }),
};

/** `{"id":…,"object":…,"created":…,"model":…,` — the start every event or body of one answer shares. */
export function envelope(answer: Answer, object: string): string {
  return `{"id":"${answer.id}","object":"${object}","created":${answer.created},"model":${answer.model.idJson},`;
}

/** The non-stream JSON body; usage is spliced in as text to keep its cost exact. */
export function completionBody(answer: Answer, format: Format, usage: string | null): string {
  const choices = JSON.stringify([format.bodyChoice(answer)]);
  return `${envelope(answer, format.object)}"provider":"Fake","choices":${choices}${usage === null ? '' : `,"usage":${usage}`}}`;
}
