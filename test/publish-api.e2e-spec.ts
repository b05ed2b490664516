import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RejectedEventLog } from '#realtime/internal';
import { GatewayHarness, Recorder, command, roundTrip } from './support/gateway-harness.js';

const KEY = 'publish-key-for-tests-0123456789';

describe('HTTP publish API', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start(
      {},
      { publish: { apiKey: KEY, maxBodyBytes: 64 * 1024, maxBatch: 100 } },
    );
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const publish = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('accepts one event with 202 and delivers it', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade']);
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'HTTPUSDT' });
    const response = await publish({
      event: 'trade',
      data: { symbol: 'HTTPUSDT', tradeId: 1, custom: { kept: true } },
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1 });
    const [trade] = await recorder.waitFor('trade');
    expect(trade.data).toEqual({ symbol: 'HTTPUSDT', tradeId: 1, custom: { kept: true } });
  });

  it('publishes a batch in order', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade', 'system.alert']);
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'BATCHUSDT' });
    const batch = Array.from({ length: 100 }, (_, i) =>
      i === 50
        ? { event: 'system.alert', data: { message: 'halfway' } }
        : { event: 'trade', data: { symbol: 'BATCHUSDT', tradeId: i } },
    );
    const response = await publish(batch);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 100 });
    await recorder.waitFor('trade', 99);
    expect(recorder.events.map((e) => e.payload.data.tradeId ?? e.payload.data.message)).toEqual(
      batch.map((m) => (m.data as { tradeId?: number; message?: string }).tradeId ?? 'halfway'),
    );
  });

  it('refuses a batch with a bad event whole, naming each refusal', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade']);
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'MIXUSDT' });
    const rejected = gateway.app.get(RejectedEventLog);
    const before = rejected.total();
    const response = await publish([
      { event: 'trade', data: { symbol: 'MIXUSDT', tradeId: 1 } },
      { event: 'trade', data: { symbol: 'mixusdt' } },
      { event: 'order.filled', data: { orderId: 3 } },
      { event: 'no.such.event', data: {} },
      'not an object',
    ]);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: '4 of 5 events refused; none was published',
      refused: [
        {
          index: 1,
          code: 'INVALID_SYMBOL',
          field: 'data.symbol',
          message: expect.stringContaining('data.symbol must match'),
        },
        {
          index: 2,
          code: 'INVALID_PAYLOAD',
          field: 'data.userId',
          message: 'data.userId is required',
        },
        {
          index: 3,
          code: 'INVALID_PAYLOAD',
          field: 'event',
          message: 'event "no.such.event" is not an event of the catalogue',
        },
        {
          index: 4,
          code: 'INVALID_PAYLOAD',
          field: 'message',
          message: expect.stringContaining('must be an object'),
        },
      ],
    });
    expect(rejected.total() - before).toBe(4);
    await roundTrip(socket);
    expect(recorder.events).toEqual([]);
  });

  it.each([
    ['no key', { authorization: '' }],
    ['a wrong key', { authorization: `Bearer ${KEY}x` }],
    ['a key without Bearer', { authorization: KEY }],
  ])('answers 401 to %s', async (_case, headers) => {
    const response = await publish({ event: 'trade', data: { symbol: 'BTCUSDT' } }, headers);
    expect(response.status).toBe(401);
  });

  it.each([
    ['malformed JSON', '{"event": "trade",', 400],
    ['an empty array', '[]', 400],
    [
      'a batch over the limit',
      JSON.stringify(Array(101).fill({ event: 'trade', data: { symbol: 'BTCUSDT' } })),
      400,
    ],
    [
      'a body over the size limit',
      JSON.stringify({ event: 'trade', data: { symbol: 'BTCUSDT', pad: 'x'.repeat(70_000) } }),
      413,
    ],
  ])('refuses %s', async (_case, body, status) => {
    const response = await publish(body);
    expect(response.status).toBe(status);
    expect(((await response.json()) as any).message).toEqual(expect.any(String));
  });

  it('refuses a body that is not JSON as an unsupported media type', async () => {
    const response = await publish('event=trade', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
  });
});

describe('HTTP publish API without a key', () => {
  it('does not exist', async () => {
    const gateway = await GatewayHarness.start();
    try {
      const response = await fetch(`${gateway.url}/api/publish`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(404);
    } finally {
      await gateway.stop();
    }
  });
});
