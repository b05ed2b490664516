import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { optional, required, requestMethod, type RealtimeModuleOptions } from '#realtime';
import { GatewayHarness, Recorder, command, until } from './support/gateway-harness.js';
import { metricValue } from './support/gateway-process.js';
import { HttpBackend } from './support/http-backend.js';
import { JsonClient } from './support/json-client.js';
import { freePort } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const SECRET = 'test-request-secret-0123456789';

/** Every unhandled rejection of this process while the tests run: there must be none. */
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);

function options(
  backendUrl: string,
  more: Partial<RealtimeModuleOptions> = {},
): RealtimeModuleOptions {
  return {
    auth: { secret: TEST_SECRET },
    requests: {
      httpSecret: SECRET,
      methods: [
        requestMethod({
          method: 'order.place',
          params: {
            symbol: required('symbol'),
            quantity: required('decimal'),
            note: optional('string'),
          },
          rate: { perSecond: 50, burst: 50 },
          timeoutMs: 1000,
          backend: { http: { url: backendUrl } },
        }),
        requestMethod({
          method: 'market.ask',
          user: 'optional',
          rate: { perSecond: 1, burst: 2 },
          backend: { http: { url: backendUrl } },
        }),
      ],
    },
    ...more,
  };
}

const request = (socket: Socket, body: unknown) => command(socket, 'request', body);

describe('request relay over HTTP', () => {
  const backend = new HttpBackend();
  let gateway: GatewayHarness;
  let alice: Socket;

  beforeAll(async () => {
    process.on('unhandledRejection', recordUnhandled);
    await backend.start();
    gateway = await GatewayHarness.start(options(backend.url));
  });

  beforeEach(async () => {
    backend.calls.length = 0;
    backend.plan = (call) => ({ body: { ok: true, result: { echo: call.body.params } } });
    alice = await gateway.connect({ auth: { token: hsToken('alice') } });
  });

  afterEach(async () => {
    await gateway.disconnectAll();
  });

  afterAll(async () => {
    await gateway.stop();
    await backend.stop();
    process.off('unhandledRejection', recordUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('relays a request with the verified user and answers the one connection that asked', async () => {
    const bob = await gateway.connect({ auth: { token: hsToken('bob') } });
    const bobSees = new Recorder(bob);
    const answer = await request(alice, {
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '0.5' },
      requestId: 'place-1',
    });
    expect(answer).toEqual({
      ok: true,
      method: 'order.place',
      requestId: 'place-1',
      result: { echo: { symbol: 'BTCUSDT', quantity: '0.5' } },
    });
    expect(backend.calls).toHaveLength(1);
    const [{ headers, body }] = backend.calls;
    expect(headers['x-realtime-secret']).toBe(SECRET);
    expect(headers['content-type']).toBe('application/json');
    expect(body).toEqual({
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '0.5' },
      userId: 'alice',
      requestId: 'place-1',
      connectionId: alice.id,
      instanceId: expect.any(String),
      deadline: expect.any(Number),
    });
    expect(body.deadline).toBeGreaterThan(Date.now());
    await command(bob, 'ping');
    expect(bobSees.events.map((e) => e.name)).not.toContain('response');
  });

  it('answers with the response event without an ack, and makes a requestId when none is sent', async () => {
    const seen = new Recorder(alice, ['response']);
    alice.emit('request', { method: 'order.place', params: { symbol: 'ETHUSDT', quantity: '1' } });
    const [response] = await seen.waitFor('response');
    expect(response).toEqual({
      ok: true,
      method: 'order.place',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      result: { echo: { symbol: 'ETHUSDT', quantity: '1' } },
    });
    expect(backend.calls[0].body.requestId).toBe(response.requestId);
  });

  it("passes the backend's refusal with its own code, through the error event without an ack", async () => {
    backend.plan = () => ({
      body: { ok: false, error: { code: 'INSUFFICIENT_FUNDS', message: 'balance 0.1 BTC' } },
    });
    expect(
      await request(alice, {
        method: 'order.place',
        params: { symbol: 'BTCUSDT', quantity: '9' },
        requestId: 'r-funds',
      }),
    ).toEqual({
      ok: false,
      command: 'request',
      method: 'order.place',
      requestId: 'r-funds',
      error: { code: 'INSUFFICIENT_FUNDS', message: 'balance 0.1 BTC' },
    });
    const errors = new Recorder(alice, ['error']);
    alice.emit('request', { method: 'order.place', params: { symbol: 'BTCUSDT', quantity: '9' } });
    const [error] = await errors.waitFor('error');
    expect(error.error.code).toBe('INSUFFICIENT_FUNDS');
  });

  it('refuses bad requests before the backend: unknown method, bad params, a user id, anonymous', async () => {
    const anonymous = await gateway.connect();
    const refusals = [
      [
        alice,
        { method: 'order.teleport', requestId: 'x1' },
        'UNKNOWN_METHOD',
        /call one of: order\.place, market\.ask/,
      ],
      [
        alice,
        { method: 'order.place', params: { symbol: 'BTCUSDT' } },
        'INVALID_PAYLOAD',
        /params\.quantity is required/,
      ],
      [
        alice,
        { method: 'order.place', params: { symbol: 'BTC USDT', quantity: '1' } },
        'INVALID_SYMBOL',
        /params\.symbol/,
      ],
      [
        alice,
        { method: 'order.place', params: { symbol: 'BTCUSDT', quantity: '1', userId: 'bob' } },
        'FORBIDDEN',
        /signed-in user/,
      ],
      [
        alice,
        { method: 'order.place', params: [1] },
        'INVALID_PAYLOAD',
        /params must be an object/,
      ],
      [alice, { method: 'order.place', requestId: 'has space' }, 'INVALID_PAYLOAD', /requestId/],
      [alice, 'order.place', 'INVALID_PAYLOAD', /must be an object/],
      [
        anonymous,
        { method: 'order.place', params: { symbol: 'BTCUSDT', quantity: '1' } },
        'AUTH_REQUIRED',
        /signed-in/,
      ],
    ] as const;
    for (const [socket, body, code, message] of refusals) {
      const answer = await request(socket, body);
      expect([body, answer.ok, answer.command, answer.error.code]).toEqual([
        body,
        false,
        'request',
        code,
      ]);
      expect(answer.error.message).toMatch(message);
    }
    expect((await request(alice, { method: 'order.teleport', requestId: 'x1' })).requestId).toBe(
      'x1',
    );
    expect(backend.calls).toHaveLength(0);
    // A method open to anonymous callers is relayed with no user.
    const open = await request(anonymous, { method: 'market.ask', params: { q: 'spread?' } });
    expect(open.ok).toBe(true);
    expect(backend.calls[0].body.userId).toBeNull();
  });

  it('answers TIMEOUT past the method timeout without holding the connection’s other commands', async () => {
    backend.plan = () => ({ body: { ok: true, result: 'late' }, delayMs: 1500 });
    const order: string[] = [];
    const slow = request(alice, {
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '1' },
      requestId: 'slow-1',
    }).then((answer) => {
      order.push('request');
      return answer;
    });
    await command(alice, 'ping').then(() => order.push('ping'));
    const subscribed = await command(alice, 'subscribe', { channel: 'trades', symbol: 'BTCUSDT' });
    order.push('subscribe');
    expect(subscribed.ok).toBe(true);
    const answer = await slow;
    expect(order).toEqual(['ping', 'subscribe', 'request']);
    expect(answer).toMatchObject({
      ok: false,
      requestId: 'slow-1',
      error: { code: 'TIMEOUT', message: 'the backend did not answer within 1000 ms' },
    });
    // A timeout is not remembered: the same id reaches the backend again.
    backend.plan = () => ({ body: { ok: true, result: 'second try' } });
    const retry = await request(alice, {
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '1' },
      requestId: 'slow-1',
    });
    expect(retry).toMatchObject({ ok: true, result: 'second try' });
    expect(backend.calls).toHaveLength(2);
  });

  it('answers UNAVAILABLE while the backend is down or broken, and relays again once it is back', async () => {
    const place = (requestId: string) =>
      request(alice, {
        method: 'order.place',
        params: { symbol: 'BTCUSDT', quantity: '1' },
        requestId,
      });
    backend.plan = () => ({ status: 503, body: { message: 'maintenance' } });
    expect((await place('u-1')).error).toEqual({
      code: 'UNAVAILABLE',
      message: 'the backend could not be reached',
    });
    backend.plan = () => ({ raw: '<html>oops</html>' });
    expect((await place('u-2')).error.code).toBe('UNAVAILABLE');
    backend.plan = () => ({ body: { ok: false, error: { code: 'lower case', message: 'x' } } });
    expect((await place('u-3')).error.code).toBe('INTERNAL');
    await backend.stop();
    try {
      const during = await Promise.all([place('u-4'), place('u-5'), place('u-6')]);
      expect(during.map((a) => a.error.code)).toEqual([
        'UNAVAILABLE',
        'UNAVAILABLE',
        'UNAVAILABLE',
      ]);
      // The connection is still served.
      expect((await command(alice, 'ping')).ok).toBe(true);
    } finally {
      await backend.start();
    }
    backend.plan = () => ({ body: { ok: true, result: 'back' } });
    expect(await place('u-4')).toMatchObject({ ok: true, result: 'back' });
    expect(
      await metricValue(
        gateway.url,
        'realtime_requests_total{method="order.place",outcome="UNAVAILABLE"}',
      ),
    ).toBeGreaterThanOrEqual(5);
  });

  it('answers a repeated requestId with the first answer, in flight and after, per user', async () => {
    let served = 0;
    backend.plan = () => ({ body: { ok: true, result: { orderId: ++served } }, delayMs: 200 });
    const body = {
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '1' },
      requestId: 'idem-1',
    };
    const [first, second] = await Promise.all([request(alice, body), request(alice, body)]);
    expect(first).toEqual({
      ok: true,
      method: 'order.place',
      requestId: 'idem-1',
      result: { orderId: 1 },
    });
    expect(second).toEqual(first);
    // Another connection of the same user, after a reconnect: still the first answer.
    alice.disconnect();
    const again = await gateway.connect({ auth: { token: hsToken('alice') } });
    expect(await request(again, body)).toEqual(first);
    expect(backend.calls).toHaveLength(1);
    // Another user's requestId is their own.
    const bob = await gateway.connect({ auth: { token: hsToken('bob') } });
    expect((await request(bob, body)).result).toEqual({ orderId: 2 });
    // So is the same id for another method.
    expect((await request(again, { ...body, method: 'market.ask', params: {} })).result).toEqual({
      orderId: 3,
    });
    expect(backend.calls).toHaveLength(3);
  });

  it('limits the rate per user and method, and the requests waiting per connection', async () => {
    const frank = await gateway.connect({ auth: { token: hsToken('frank') } });
    const answers = await Promise.all(
      [1, 2, 3].map((n) =>
        request(frank, { method: 'market.ask', params: { n }, requestId: `ask-${n}` }),
      ),
    );
    expect(answers.map((a) => a.ok || a.error.code)).toEqual([true, true, 'RATE_LIMITED']);
    // A repeat of an answered request is answered although the rate is spent: a retry after
    // a reconnect is never refused for the calls it is retrying.
    expect(
      await request(frank, { method: 'market.ask', params: { n: 1 }, requestId: 'ask-1' }),
    ).toEqual(answers[0]);
    // The budget is the user's, not the connection's.
    const second = await gateway.connect({ auth: { token: hsToken('frank') } });
    expect((await request(second, { method: 'market.ask' })).error.code).toBe('RATE_LIMITED');

    backend.plan = () => ({ body: { ok: true, result: 1 }, delayMs: 300 });
    const waiting = await Promise.all(
      Array.from({ length: 17 }, (_, n) =>
        request(alice, {
          method: 'order.place',
          params: { symbol: 'BTCUSDT', quantity: String(n + 1) },
        }),
      ),
    );
    const codes = waiting.map((a) => (a.ok ? 'ok' : a.error.code));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(16);
    expect(codes[16]).toBe('RATE_LIMITED');
    expect(waiting[16].error.message).toMatch(/at most 16 requests/);
  });

  it('serves the request command to plain WebSocket clients', async () => {
    const bot = await JsonClient.connected(gateway.url, { query: { token: hsToken('carol') } });
    try {
      const answer = await bot.command('request', {
        method: 'order.place',
        params: { symbol: 'SOLUSDT', quantity: '2' },
        requestId: 'bot-1',
      });
      expect(answer).toMatchObject({
        type: 'response',
        data: {
          ok: true,
          method: 'order.place',
          requestId: 'bot-1',
          result: { echo: { symbol: 'SOLUSDT', quantity: '2' } },
        },
      });
      const refused = await bot.command('request', { method: 'nope' });
      expect(refused).toMatchObject({
        type: 'error',
        data: { command: 'request', error: { code: 'UNKNOWN_METHOD' } },
      });
      expect(backend.calls[0].body.userId).toBe('carol');
    } finally {
      bot.ws.close();
    }
  });
});

describe('request relay across instances', () => {
  const backend = new HttpBackend();
  let redis: RedisServer;
  let a: GatewayHarness;
  let b: GatewayHarness;

  beforeAll(async () => {
    process.on('unhandledRejection', recordUnhandled);
    await backend.start();
    redis = new RedisServer(await freePort());
    await redis.start();
    a = await GatewayHarness.start(options(backend.url, { instanceId: 'a' }), {
      redis: { url: redis.url },
    });
    b = await GatewayHarness.start(options(backend.url, { instanceId: 'b' }), {
      redis: { url: redis.url },
    });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
    await backend.stop();
    process.off('unhandledRejection', recordUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('gives a retry on another instance the first answer, also while the first is in flight', async () => {
    let served = 0;
    backend.plan = () => ({ body: { ok: true, result: { orderId: ++served } }, delayMs: 300 });
    const onA = await a.connect({ auth: { token: hsToken('dave') } });
    const onB = await b.connect({ auth: { token: hsToken('dave') } });
    const body = {
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '1' },
      requestId: `cross-${randomUUID()}`,
    };
    const first = request(onA, body);
    await until(() => backend.calls.length === 1, 2000, 'the first call');
    const duplicate = await request(onB, body);
    expect(await first).toMatchObject({ ok: true, result: { orderId: 1 } });
    expect(duplicate).toEqual(await first);
    expect(await request(onB, body)).toEqual(await first);
    expect(backend.calls).toHaveLength(1);
  });

  it('keeps relaying while Redis is down, and shares answers again once it is back', async () => {
    backend.plan = (call) => ({ body: { ok: true, result: call.body.requestId } });
    const onA = await a.connect({ auth: { token: hsToken('erin') } });
    const onB = await b.connect({ auth: { token: hsToken('erin') } });
    await redis.stop();
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          request(n % 2 ? onA : onB, {
            method: 'order.place',
            params: { symbol: 'BTCUSDT', quantity: '1' },
            requestId: `down-${n}`,
          }),
        ),
      );
      expect(answers.map((answer) => answer.ok)).toEqual(Array(20).fill(true));
    } finally {
      await redis.start();
    }
    await until(async () => (await fetch(`${a.url}/health/ready`)).ok, 10_000, 'a ready');
    await until(async () => (await fetch(`${b.url}/health/ready`)).ok, 10_000, 'b ready');
    const body = {
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '1' },
      requestId: `up-${randomUUID()}`,
    };
    const first = await request(onA, body);
    expect(await request(onB, body)).toEqual(first);
  });
});
