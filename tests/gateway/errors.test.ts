import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { parseUsd } from '../../core/money.ts';
import { MAX_OUTPUT_TOKENS } from '../../core/billed-request.ts';
import OpenAI, { type APIError } from 'openai';
import { revokeApiKey } from '../../db/queries/api-keys.ts';
import { upsertPolicy } from '../../db/queries/rate-limit-policies.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { KEY_CACHE_TTL_MS } from '../../plugins/auth.ts';
import { eventually, startHarness, UPSTREAM_KEY, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const chat = (client: OpenAI, model = 'fake/gpt-small') =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

async function raw(
  path: string,
  init: RequestInit,
): Promise<{
  status: number;
  body: { error?: { message: string; type: string; code: string; param: string | null } };
  headers: Headers;
}> {
  const response = await fetch(`${h.gateway.url}${path}`, init);
  return { status: response.status, body: (await response.json()) as never, headers: response.headers };
}

describe('refusals are OpenAI-shaped and raise the matching SDK error', () => {
  test('an unknown key is 401 AuthenticationError', async () => {
    const error = await chat(h.client('tg-AAAAAAAAAAAAAAAAAAAAAA000000')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  test('a well-formed but unknown key is 401 and a missing key is 401', async () => {
    const { key } = await h.customer('1');
    const forged = `${key.slice(0, -7)}${key.at(-7) === 'a' ? 'b' : 'a'}${key.slice(-6)}`;
    expect(await chat(h.client(forged)).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.AuthenticationError);
    const missing = await raw('/v1/chat/completions', { method: 'POST', body: '{}' });
    expect(missing.status).toBe(401);
    expect(missing.body.error?.code).toBe('missing_api_key');
    expect(missing.headers.get('x-request-id')).toBeTruthy();
  });

  test('a revoked key is refused within the cache lifetime', async () => {
    const { key, keyId } = await h.customer('1');
    await chat(h.client(key));
    await revokeApiKey(h.sql, keyId);
    await Bun.sleep(KEY_CACHE_TTL_MS + 50);
    const error = await chat(h.client(key)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as APIError).code).toBe('revoked_api_key');
  });

  test('an expired key is 401', async () => {
    const { key } = await h.customer('1', { expiresAt: new Date(Date.now() - 1000) });
    const error = await chat(h.client(key)).catch((e: unknown) => e);
    expect((error as APIError).code).toBe('expired_api_key');
  });

  test("a model outside the key's allowed list is 403 PermissionDeniedError", async () => {
    const { key } = await h.customer('1', { allowedModels: ['fake/gpt-large'] });
    expect(await chat(h.client(key)).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  test('an unknown model is 404 NotFoundError', async () => {
    const { key } = await h.customer('1');
    expect(await chat(h.client(key), 'nobody/nothing').catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test('no credit is 402 insufficient_quota with x-should-retry false', async () => {
    const { key } = await h.customer('0');
    const error = (await chat(h.client(key, { maxRetries: 2 })).catch((e: unknown) => e)) as APIError;
    expect(error.status).toBe(402);
    expect(error.code).toBe('insufficient_quota');
    expect(error.headers?.get('x-should-retry')).toBe('false');
  });

  test('a key over its credit cap is 402', async () => {
    const { key } = await h.customer('5', { creditCapNanos: 1n });
    const error = (await chat(h.client(key)).catch((e: unknown) => e)) as APIError;
    expect(error.status).toBe(402);
    expect(error.message).toContain('credit limit');
  });

  test('malformed bodies get 400 with the offending param, never 500', async () => {
    const { key } = await h.customer('1');
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const cases: [string, string | null][] = [
      ['{not json', null],
      ['[]', null],
      ['{"messages":[{"role":"user","content":"x"}]}', 'model'],
      ['{"model":42,"messages":[]}', 'model'],
      ['{"model":"fake/gpt-small","messages":"hi"}', 'messages'],
      ['{"model":"fake/gpt-small","messages":[{"role":"user","content":"x"}],"max_tokens":-1}', 'max_tokens'],
      ['{"model":"fake/gpt-small","messages":[{"role":"user","content":"x"}],"stream":"yes"}', 'stream'],
      // Its hold would not fit in a bigint: this was a 503, as if the database were down.
      ['{"model":"fake/gpt-small","messages":[{"role":"user","content":"x"}],"max_tokens":1e20}', 'max_tokens'],
      [
        `{"model":"fake/gpt-small","messages":[{"role":"user","content":"x"}],"max_completion_tokens":${MAX_OUTPUT_TOKENS + 1}}`,
        'max_completion_tokens',
      ],
    ];
    for (const [body, param] of cases) {
      const answer = await raw('/v1/chat/completions', { method: 'POST', headers, body });
      expect(answer.status).toBe(400);
      expect(answer.body.error?.type).toBe('invalid_request_error');
      expect(answer.body.error?.param).toBe(param);
    }
  });

  test('an oversized body is 413', async () => {
    const { key } = await h.customer('1');
    const body = JSON.stringify({
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: 'x'.repeat(21 * 1024 * 1024) }],
    });
    const answer = await raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body,
    });
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe('request_too_large');
  });

  test('an oversized chunked body, which declares no length, is 413 too', async () => {
    const { key } = await h.customer('1');
    const chunk = new TextEncoder().encode('x'.repeat(1024 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(
            new TextEncoder().encode('{"model":"fake/gpt-small","messages":[{"role":"user","content":"'),
          );
        if (sent++ < 22) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const answer = await raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe('request_too_large');
  });

  test('requests over the per-key limit get 429 with retry-after and rate-limit headers', async () => {
    const { key, keyId } = await h.customer('1');
    await upsertPolicy(
      h.sql,
      { kind: 'apiKey', id: keyId },
      {
        requestsPerMinute: 2,
        requestsPerHour: null,
        tokensPerMinute: null,
        concurrentRequests: null,
        spendPerDayNanos: null,
        spendPerMonthNanos: null,
      },
    );
    const client = h.client(key);
    const first = await client.chat.completions
      .create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'a' }] })
      .withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('2');
    await chat(client);
    const error = (await chat(client).catch((e: unknown) => e)) as APIError;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  test('a slow upload takes no concurrency slot until its body has arrived', async () => {
    const { key, keyId } = await h.customer('1');
    await upsertPolicy(
      h.sql,
      { kind: 'apiKey', id: keyId },
      {
        requestsPerMinute: null,
        requestsPerHour: null,
        tokensPerMinute: null,
        concurrentRequests: 1,
        spendPerDayNanos: null,
        spendPerMonthNanos: null,
      },
    );
    const payload = new TextEncoder().encode(
      JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'slow' }] }),
    );
    let step = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) controller.enqueue(payload.slice(0, 10));
        else if (step === 1) {
          await Bun.sleep(1_500);
          controller.enqueue(payload.slice(10));
        } else controller.close();
        step += 1;
      },
    });
    const slow = fetch(`${h.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    await Bun.sleep(300);
    // The key allows one request at a time; the first is still uploading, so this one is served.
    const quick = await chat(h.client(key));
    expect(quick.choices[0]?.message.content).toBeTruthy();
    expect((await slow).status).toBe(200);
  });

  test('unknown routes are 404 JSON, not a catch-all', async () => {
    const answer = await raw('/v1/whatever', { method: 'GET' });
    expect(answer.status).toBe(404);
    expect(answer.body.error?.type).toBe('not_found_error');
  });

  test('a model id in the path that is not valid percent-encoding is 404, not 500', async () => {
    const answer = await raw('/v1/models/%ff', { method: 'GET' });
    expect(answer.status).toBe(404);
    expect(answer.body.error?.code).toBe('model_not_found');
  });

  test('GET /v1/key reports the balance and limits of the calling key', async () => {
    const { key } = await h.customer('2.50', { creditCapNanos: 1_000_000_000n });
    const response = await fetch(`${h.gateway.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await response.json()) as { data: { limit: string; balance: { available: string } } };
    expect(body.data.limit).toBe('1.00');
    expect(body.data.balance.available).toBe('2.50');
  });

  test("GET /v1/key lists the key's and the account's policies by subject, spend limits as exact USD", async () => {
    const { key, keyId, account } = await h.customer('1');
    const none = {
      requestsPerMinute: null,
      requestsPerHour: null,
      tokensPerMinute: null,
      concurrentRequests: null,
      spendPerDayNanos: null,
      spendPerMonthNanos: null,
    };
    await upsertPolicy(
      h.sql,
      { kind: 'apiKey', id: keyId },
      { ...none, tokensPerMinute: 100_000, spendPerDayNanos: 30_000n },
    );
    await upsertPolicy(h.sql, { kind: 'account', id: account.id }, { ...none, concurrentRequests: 3 });
    const body = (await (
      await fetch(`${h.gateway.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { data: { rate_limits: unknown } };
    expect(body.data.rate_limits).toEqual({
      key: {
        requestsPerMinute: null,
        requestsPerHour: null,
        tokensPerMinute: 100_000,
        concurrentRequests: null,
        spendPerDayUsd: '0.00003',
        spendPerMonthUsd: null,
      },
      account: {
        requestsPerMinute: null,
        requestsPerHour: null,
        tokensPerMinute: null,
        concurrentRequests: 3,
        spendPerDayUsd: null,
        spendPerMonthUsd: null,
        source: 'account',
      },
    });
  });

  test('GET /v1/key reports the usage of a key without a credit limit too', async () => {
    const { key, account } = await h.customer('1');
    await chat(h.client(key));
    const settled = await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n && (b?.availableNanos ?? 0n) < 1_000_000_000n,
    );
    const spent = 1_000_000_000n - (settled?.availableNanos ?? 0n);
    const answer = await eventually(
      async () =>
        (await (await fetch(`${h.gateway.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
          data: { usage: string; limit: string | null };
        },
      (body) => body.data.usage !== '0.00',
    );
    expect(answer.data.limit).toBeNull();
    expect(parseUsd(answer.data.usage)).toBe(spent);
  });

  test('logs never contain a full API key or the upstream key', async () => {
    const { key, account } = await h.customer('1');
    await chat(h.client(key));
    await chat(h.client(`${key.slice(0, 10)}XXXXXXXXXXXXXXXXXXXX`)).catch(() => {});
    await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
    );
    const logs = h.logs.join('\n');
    expect(logs).not.toContain(key);
    expect(logs).not.toContain(UPSTREAM_KEY);
  });
});
