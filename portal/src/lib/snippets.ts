/**
 * The API quick start's code, in one place for the dashboard and the docs: the official OpenAI
 * SDKs and curl, pointed at the tenant's base URL. With a key the snippets carry it literally
 * (for a person pasting theirs into the docs page); without, they read it from API_KEY.
 */

export const SNIPPET_LANGUAGES = ['Python', 'TypeScript', 'curl'] as const;
export type SnippetLanguage = (typeof SNIPPET_LANGUAGES)[number];

export type SnippetOptions = { baseUrl: string; model: string; apiKey: string | null };

/** A value for a double-quoted string in Python, TypeScript or a shell: quotes and backslashes escaped. */
function quoted(value: string): string {
  return JSON.stringify(value);
}

export function snippets({ baseUrl, model, apiKey }: SnippetOptions): Record<SnippetLanguage, string> {
  const python = apiKey ? `api_key=${quoted(apiKey)}` : 'api_key=os.environ["API_KEY"]';
  const typescript = apiKey ? `apiKey: ${quoted(apiKey)}` : 'apiKey: process.env.API_KEY';
  const header = apiKey
    ? `"Authorization: Bearer ${apiKey.replace(/["\\$`]/g, '')}"`
    : '"Authorization: Bearer $API_KEY"';
  return {
    Python: `# pip install openai
${apiKey ? '' : 'import os\n'}from openai import OpenAI

client = OpenAI(base_url=${quoted(baseUrl)}, ${python})

reply = client.chat.completions.create(
    model=${quoted(model)},
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)`,
    TypeScript: `// npm install openai
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: ${quoted(baseUrl)}, ${typescript} });

const reply = await client.chat.completions.create({
  model: ${quoted(model)},
  messages: [{ role: 'user', content: 'Hello!' }],
});
console.log(reply.choices[0]?.message.content);`,
    curl: `curl ${baseUrl}/chat/completions \\
  -H ${header} \\
  -H "Content-Type: application/json" \\
  -d '{"model": ${quoted(model).replace(/'/g, '')}, "messages": [{"role": "user", "content": "Hello!"}]}'`,
  };
}
