import { isRecord, type RequestProblem } from '../../core/billed-request.ts';

/**
 * Responses tools as Chat Completions tools, for an upstream that speaks only chat. Function tools
 * map one to one. A `custom` tool (free-form input, such as Codex's apply_patch) becomes a function
 * taking one string, `input`, and its calls are turned back into custom tool calls. Built-in tools
 * (web search, file search, code interpreter…) run on OpenAI's side: a chat upstream has nothing
 * to run them, so they are refused by name rather than silently dropped.
 */

/** The one parameter of the function a custom tool becomes. */
export const CUSTOM_TOOL_INPUT = 'input';

const refused = (param: string, what: string): RequestProblem => ({
  message: `${what} cannot be served by this route: its upstream speaks only Chat Completions. Remove it, or use a route whose upstream speaks Responses.`,
  param,
});

function customParameters(): Record<string, unknown> {
  return {
    type: 'object',
    properties: { [CUSTOM_TOOL_INPUT]: { type: 'string', description: 'The raw input of the tool.' } },
    required: [CUSTOM_TOOL_INPUT],
    additionalProperties: false,
  };
}

function customDescription(tool: Record<string, unknown>): string {
  const description = typeof tool.description === 'string' ? tool.description : '';
  const format = isRecord(tool.format) ? tool.format : undefined;
  if (format?.type !== 'grammar' || typeof format.definition !== 'string') return description;
  return `${description}\n\nThe input must follow this ${String(format.syntax ?? '')} grammar:\n${format.definition}`;
}

/** The names of a request's custom tools, whose calls go back to the client as custom tool calls. */
export function customToolNames(tools: unknown): Set<string> {
  const names = new Set<string>();
  for (const tool of Array.isArray(tools) ? tools : [])
    if (isRecord(tool) && tool.type === 'custom') names.add(String(tool.name));
  return names;
}

export function chatTools(tools: unknown): Record<string, unknown>[] | RequestProblem {
  const result: Record<string, unknown>[] = [];
  if (!Array.isArray(tools)) return result;
  for (const [index, tool] of tools.entries()) {
    if (!isRecord(tool)) continue;
    const param = `tools[${index}]`;
    if (tool.type === 'function') {
      const fn: Record<string, unknown> = { name: tool.name };
      if (typeof tool.description === 'string') fn.description = tool.description;
      if (isRecord(tool.parameters)) fn.parameters = tool.parameters;
      if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
      result.push({ type: 'function', function: fn });
    } else if (tool.type === 'custom') {
      result.push({
        type: 'function',
        function: { name: tool.name, description: customDescription(tool), parameters: customParameters() },
      });
    } else return refused(param, `The built-in tool "${String(tool.type)}"`);
  }
  return result;
}

/** The chat `tool_choice` (`choice` undefined: none given). */
export function chatToolChoice(choice: unknown): { choice: unknown } | RequestProblem {
  if (!isRecord(choice)) return { choice: typeof choice === 'string' ? choice : undefined };
  if (choice.type === 'function' || choice.type === 'custom')
    return { choice: { type: 'function', function: { name: choice.name } } };
  return refused('tool_choice', `A tool_choice of type "${String(choice.type)}"`);
}
