import { isRecord, MAX_OUTPUT_TOKENS, type RequestProblem } from '../../core/billed-request.ts';

/**
 * Shape checks for an OpenAI Responses request (`POST /v1/responses`). Like the chat checks
 * (core/openai-request.ts), only what the gateway relies on is checked, each problem naming its
 * `param`; everything else passes through untouched to an upstream that speaks Responses. The
 * gateway keeps no responses, so whatever needs stored state is refused with a message that says
 * what to send instead.
 */

export type ResponsesRequest = {
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** The request's output limit (reasoning included, as Responses counts it); null = the model's largest. */
  maxOutputTokens: number | null;
  /** The client asked for reasoning summaries (`reasoning.summary`). */
  wantsReasoningSummary: boolean;
};

const STATELESS =
  'This gateway keeps no responses: send the whole conversation in input (with store: false), as Codex and the ' +
  'Agents SDK do.';

const MESSAGE_ROLES = new Set(['user', 'assistant', 'system', 'developer']);
const PART_TYPES = new Set(['input_text', 'input_image', 'input_file', 'input_audio', 'output_text', 'refusal']);

const problem = (message: string, param: string | null): RequestProblem => ({ message, param });

function checkPart(part: unknown, param: string): RequestProblem | undefined {
  if (!isRecord(part) || typeof part.type !== 'string') return problem(`${param} must be an object with a type`, param);
  if (!PART_TYPES.has(part.type)) return problem(`${param}.type "${part.type}" is not a content part type`, param);
  if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text !== 'string')
    return problem(`${param}.text must be a string`, `${param}.text`);
  if (part.type === 'refusal' && typeof part.refusal !== 'string')
    return problem(`${param}.refusal must be a string`, `${param}.refusal`);
  if (part.type === 'input_image' && typeof part.image_url !== 'string' && typeof part.file_id !== 'string')
    return problem(`${param} needs an image_url or a file_id`, param);
  return undefined;
}

function checkMessage(item: Record<string, unknown>, param: string): RequestProblem | undefined {
  if (typeof item.role !== 'string' || !MESSAGE_ROLES.has(item.role))
    return problem(`${param}.role must be one of user, assistant, system, developer`, `${param}.role`);
  const content = item.content;
  if (typeof content === 'string') return undefined;
  if (!Array.isArray(content))
    return problem(`${param}.content must be a string or an array of parts`, `${param}.content`);
  for (const [index, part] of content.entries()) {
    const found = checkPart(part, `${param}.content[${index}]`);
    if (found) return found;
  }
  return undefined;
}

function needsString(item: Record<string, unknown>, field: string, param: string): RequestProblem | undefined {
  return typeof item[field] === 'string'
    ? undefined
    : problem(`${param}.${field} must be a string`, `${param}.${field}`);
}

function checkItem(item: unknown, param: string): RequestProblem | undefined {
  if (!isRecord(item)) return problem(`${param} must be an object`, param);
  const type = item.type ?? 'message';
  switch (type) {
    case 'message':
      return checkMessage(item, param);
    case 'function_call':
      return (
        needsString(item, 'call_id', param) ?? needsString(item, 'name', param) ?? needsString(item, 'arguments', param)
      );
    case 'custom_tool_call':
      return (
        needsString(item, 'call_id', param) ?? needsString(item, 'name', param) ?? needsString(item, 'input', param)
      );
    case 'function_call_output':
    case 'custom_tool_call_output':
      if (typeof item.output !== 'string' && !Array.isArray(item.output))
        return problem(`${param}.output must be a string or an array of parts`, `${param}.output`);
      return needsString(item, 'call_id', param);
    case 'reasoning':
      return Array.isArray(item.summary) ? undefined : problem(`${param}.summary must be an array`, `${param}.summary`);
    case 'item_reference':
      return problem(`${param}: item references need stored responses. ${STATELESS}`, param);
    default:
      // Other item types (built-in tool calls and their outputs) belong to native upstreams.
      return typeof type === 'string' ? undefined : problem(`${param}.type must be a string`, `${param}.type`);
  }
}

function checkInput(input: unknown): RequestProblem | undefined {
  if (typeof input === 'string') return undefined;
  if (!Array.isArray(input) || input.length === 0)
    return problem('input must be a string or a non-empty array of items', 'input');
  for (const [index, item] of input.entries()) {
    const found = checkItem(item, `input[${index}]`);
    if (found) return found;
  }
  return undefined;
}

function checkTools(tools: unknown): RequestProblem | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) return problem('tools must be an array', 'tools');
  for (const [index, tool] of tools.entries()) {
    const param = `tools[${index}]`;
    if (!isRecord(tool) || typeof tool.type !== 'string')
      return problem(`${param} must be an object with a type`, param);
    if ((tool.type === 'function' || tool.type === 'custom') && typeof tool.name !== 'string')
      return problem(`${param}.name must be a string`, `${param}.name`);
    if (
      tool.type === 'function' &&
      tool.parameters !== undefined &&
      tool.parameters !== null &&
      !isRecord(tool.parameters)
    )
      return problem(`${param}.parameters must be a JSON Schema object`, `${param}.parameters`);
  }
  return undefined;
}

function checkToolChoice(choice: unknown): RequestProblem | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string')
    return ['auto', 'none', 'required'].includes(choice)
      ? undefined
      : problem('tool_choice must be auto, none, required or an object', 'tool_choice');
  if (!isRecord(choice) || typeof choice.type !== 'string')
    return problem('tool_choice must be auto, none, required or an object with a type', 'tool_choice');
  if ((choice.type === 'function' || choice.type === 'custom') && typeof choice.name !== 'string')
    return problem('tool_choice.name must be a string', 'tool_choice.name');
  return undefined;
}

function checkNumber(body: Record<string, unknown>, param: string, max: number): RequestProblem | undefined {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)
    return problem(`${param} must be a number from 0 to ${max}`, param);
  return undefined;
}

function checkOptionalType(
  body: Record<string, unknown>,
  param: string,
  type: 'boolean' | 'string' | 'object',
): RequestProblem | undefined {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  const ok = type === 'object' ? isRecord(value) : typeof value === type;
  return ok ? undefined : problem(`${param} must be ${type === 'object' ? 'an object' : `a ${type}`}`, param);
}

function checkReasoningAndText(body: Record<string, unknown>): RequestProblem | undefined {
  const reasoning = body.reasoning;
  if (isRecord(reasoning)) {
    for (const field of ['effort', 'summary', 'generate_summary']) {
      const value = reasoning[field];
      if (value !== undefined && value !== null && typeof value !== 'string')
        return problem(`reasoning.${field} must be a string`, `reasoning.${field}`);
    }
  }
  const text = body.text;
  if (!isRecord(text) || text.format === undefined || text.format === null) return undefined;
  const format = text.format;
  if (!isRecord(format) || typeof format.type !== 'string')
    return problem('text.format must be an object with a type', 'text.format');
  if (format.type === 'json_schema' && (typeof format.name !== 'string' || !isRecord(format.schema)))
    return problem('text.format of type json_schema needs a name and a schema object', 'text.format');
  if (!['text', 'json_object', 'json_schema'].includes(format.type))
    return problem('text.format.type must be text, json_object or json_schema', 'text.format.type');
  return undefined;
}

/** Fields that only a server that keeps state can serve. */
function checkStateless(body: Record<string, unknown>): RequestProblem | undefined {
  if (body.previous_response_id !== undefined && body.previous_response_id !== null)
    return problem(`previous_response_id is not supported. ${STATELESS}`, 'previous_response_id');
  if (body.conversation !== undefined && body.conversation !== null)
    return problem(`conversation is not supported. ${STATELESS}`, 'conversation');
  if (body.background === true)
    return problem('background responses are not supported: this gateway keeps no responses to poll.', 'background');
  return undefined;
}

function maxOutputTokens(body: Record<string, unknown>): number | null | RequestProblem {
  const value = body.max_output_tokens;
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_OUTPUT_TOKENS)
    return problem(`max_output_tokens must be an integer from 1 to ${MAX_OUTPUT_TOKENS}`, 'max_output_tokens');
  return value;
}

function checkFields(body: Record<string, unknown>): RequestProblem | undefined {
  return (
    checkStateless(body) ??
    checkOptionalType(body, 'stream', 'boolean') ??
    checkOptionalType(body, 'store', 'boolean') ??
    checkOptionalType(body, 'parallel_tool_calls', 'boolean') ??
    checkOptionalType(body, 'metadata', 'object') ??
    checkOptionalType(body, 'reasoning', 'object') ??
    checkOptionalType(body, 'text', 'object') ??
    checkNumber(body, 'temperature', 2) ??
    checkNumber(body, 'top_p', 1) ??
    checkInput(body.input) ??
    (body.instructions === undefined || body.instructions === null || typeof body.instructions === 'string'
      ? undefined
      : problem('instructions must be a string', 'instructions')) ??
    checkTools(body.tools) ??
    checkToolChoice(body.tool_choice) ??
    checkReasoningAndText(body)
  );
}

export function parseResponsesRequest(body: unknown): ResponsesRequest | RequestProblem {
  if (!isRecord(body)) return problem('the request body must be a JSON object', null);
  if (typeof body.model !== 'string' || body.model.length === 0) return problem('model is required', 'model');
  const found = checkFields(body);
  if (found) return found;
  const limit = maxOutputTokens(body);
  if (typeof limit === 'object' && limit !== null) return limit;
  const reasoning = isRecord(body.reasoning) ? body.reasoning : {};
  const summary = reasoning.summary ?? reasoning.generate_summary;
  return {
    body,
    model: body.model,
    stream: body.stream === true,
    maxOutputTokens: limit,
    wantsReasoningSummary: typeof summary === 'string' && summary !== 'none',
  };
}
