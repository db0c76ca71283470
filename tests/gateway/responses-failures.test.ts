import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { eventually, expectSettledAndSecretFree, type Harness } from './harness.ts';
import { MODES, rowsOf, settled, startResponsesHarness } from './responses-harness.ts';

/**
 * Responses requests that go wrong, in both modes: stored state refused, the SDK's error classes,
 * and aborted, cut, failed and concurrent streams settled like chat's, the ledger clean after.
 */

for (const mode of MODES) {
  describe(`failing Responses requests (${mode})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startResponsesHarness(mode);
    });
    afterAll(async () => {
      await h.close();
    });

    test('previous_response_id is a 400 saying to send the whole input; a stored response is a 404', async () => {
      const { key } = await h.customer('1.00');
      const error = await h
        .client(key)
        .responses.create({ model: 'fake/gpt-small', input: 'x', previous_response_id: 'resp_1' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('send the whole conversation');
      const missing = await h
        .client(key)
        .responses.retrieve('resp_1')
        .catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    });

    test('SDK error classes: bad key, unknown model, no credit, over the rate limit, malformed input', async () => {
      const create = (key: string, body: Record<string, unknown>) =>
        h
          .client(key)
          .responses.create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming)
          .catch((e: unknown) => e);
      expect(await create('tg-bad', { model: 'fake/gpt-small', input: 'x' })).toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
      const { key } = await h.customer('1.00');
      expect(await create(key, { model: 'fake/none', input: 'x' })).toBeInstanceOf(OpenAI.NotFoundError);
      const broke = await h.customer('0');
      const noCredit = await create(broke.key, { model: 'fake/gpt-small', input: 'x' });
      expect(noCredit).toBeInstanceOf(OpenAI.APIError);
      expect((noCredit as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
      expect((noCredit as InstanceType<typeof OpenAI.APIError>).code).toBe('insufficient_quota');
      for (const [body, param] of [
        [{ model: 'fake/gpt-small' }, 'input'],
        [{ model: 'fake/gpt-small', input: [{ role: 'robot', content: 'x' }] }, 'input[0].role'],
        [{ model: 'fake/gpt-small', input: 'x', max_output_tokens: -1 }, 'max_output_tokens'],
        [{ model: 'fake/gpt-small', input: 'x', tools: [{ type: 'function' }] }, 'tools[0].name'],
      ] as const) {
        const error = await create(key, body as unknown as Record<string, unknown>);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe(param);
      }
      const limited = await h.customer('1.00');
      await h.sql`insert into rate_limit_policies (api_key_id, requests_per_minute) values (${limited.keyId}::uuid, 1)`;
      await create(limited.key, { model: 'fake/gpt-small', input: 'x' });
      expect(await create(limited.key, { model: 'fake/gpt-small', input: 'x' })).toBeInstanceOf(OpenAI.RateLimitError);
    });

    test('an upstream 500 before the first byte voids the hold, and no secret leaks', async () => {
      const { key, account } = await h.customer('1.00');
      const error = await h
        .client(key)
        .responses.create({ model: 'fake/gpt-small', input: '[[fake:status=500]]' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBeGreaterThanOrEqual(500);
      expect(JSON.stringify(error)).not.toContain('sk-upstream-SECRET');
      expect((await settled(h, account.walletId))?.availableNanos).toBe(1_000_000_000n);
    });

    test('a client abort after 3 events aborts the upstream and settles what was produced', async () => {
      const { key, account } = await h.customer('1.00');
      const aborted = h.upstream.aborted;
      const controller = new AbortController();
      const stream = await h
        .client(key)
        .responses.create(
          { model: 'fake/gpt-small', input: 'long [[fake:chunks=50,delay_ms=40]]', stream: true },
          { signal: controller.signal },
        );
      let deltas = 0;
      try {
        for await (const event of stream) {
          if (event.type === 'response.output_text.delta') deltas += 1;
          if (deltas === 3) controller.abort();
        }
      } catch {
        // The SDK throws an abort error: that is the point.
      }
      const [row] = await rowsOf(h, account.id);
      expect(row?.outcome).toBe('aborted');
      expect(row?.completion_tokens).toBeGreaterThanOrEqual(3);
      expect(row?.completion_tokens).toBeLessThan(50);
      expect(row?.charge_nanos).toBeGreaterThan(0n);
      await eventually(
        async () => h.upstream.aborted,
        (n) => n > aborted,
      );
    });

    test('an upstream cut mid-stream ends with an error event the SDK raises, and charges what was delivered', async () => {
      const { key, account } = await h.customer('1.00');
      const response = await h.req('/v1/responses', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fake/gpt-small', input: '[[fake:chunks=20,cut_after=4]]', stream: true }),
      });
      const text = await response.text();
      expect(text.match(/event: response\.output_text\.delta/g)?.length).toBe(4);
      expect(text).toContain('event: error\ndata: {"type":"error","code":"upstream_disconnected"');
      expect(text).toContain('event: response.failed');
      const [row] = await rowsOf(h, account.id);
      expect(row?.outcome).toBe('failed');
      expect(row?.completion_tokens).toBe(4);
      expect(row?.charge_nanos).toBeGreaterThan(0n);
      const stream = h.client(key).responses.stream({ model: 'fake/gpt-small', input: '[[fake:cut_after=2]]' });
      expect(await stream.finalResponse().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.APIError);
    });

    test('a burst of concurrent streams on a small balance never takes the wallet below zero', async () => {
      const { key, account } = await h.customer('0.01');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          h
            .client(key)
            .responses.stream({ model: 'fake/gpt-large', input: 'burst [[fake:chunks=20]]', max_output_tokens: 200 })
            .finalResponse(),
        ),
      );
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      expect((await settled(h, account.walletId))?.availableNanos).toBeGreaterThanOrEqual(0n);
    });

    test('no hold is left open, the ledger verifies clean, and no log line holds a key', async () => {
      await expectSettledAndSecretFree(h);
    });
  });
}
