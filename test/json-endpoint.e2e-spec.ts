import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AUTH_TIMEOUT_MS,
  AppWebSocketGateway,
  ConnectionDrain,
  JsonEndpoint,
  RealtimeEvent,
} from '#realtime/internal';
import { GatewayHarness, Recorder, command, sleep } from './support/gateway-harness.js';
import { JsonClient } from './support/json-client.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const trade = (symbol: string, i: number) => ({
  symbol,
  tradeId: i,
  price: '100.25',
  quantity: '0.5',
  side: i % 2 ? 'buy' : 'sell',
  timestamp: 1_700_000_000_000 + i,
});

describe('plain-WebSocket JSON endpoint', () => {
  let gateway: GatewayHarness;
  const clients: JsonClient[] = [];
  const open = async (options: Parameters<typeof JsonClient.open>[1] = {}) => {
    const client = await JsonClient.open(gateway.url, options);
    clients.push(client);
    return client;
  };
  const connected = async (options: Parameters<typeof JsonClient.open>[1] = {}) => {
    const client = await open(options);
    // Without a token, the first command joins.
    if (!options.query?.token) client.send({ type: 'ping' });
    await client.next('connected');
    return client;
  };

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET } });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('offers authentication to a connection without a token, and joins it anonymously on its first command', async () => {
    const client = await open();
    const offer = await client.next('auth_required');
    expect(offer).toEqual({
      type: 'auth_required',
      timestamp: expect.any(Number),
      data: { timeoutMs: AUTH_TIMEOUT_MS },
    });
    const pong = await client.command('ping');
    expect(pong).toEqual({
      id: 'c1',
      type: 'pong',
      timestamp: expect.any(Number),
      data: { ok: true, timestamp: expect.any(Number) },
    });
    const greeting = client.all('connected')[0];
    expect(greeting.data).toEqual({
      connectionId: expect.any(String),
      userId: null,
      serverTime: expect.any(Number),
    });
    // The greeting comes before the answer to the command that joined.
    expect(client.frames.indexOf(greeting)).toBeLessThan(client.frames.indexOf(pong));
  });

  it('keeps the user of a token given at the door, not the token, not even in the URL', async () => {
    const client = await open({ query: { token: hsToken('carol'), batch: 'false' } });
    const { connectionId, userId } = (await client.next('connected')).data as {
      connectionId: string;
      userId: string;
    };
    expect(userId).toBe('carol');
    const { handshake } = gateway.app.get(AppWebSocketGateway).server.sockets.get(connectionId)!;
    expect(handshake.query.token).toBeUndefined();
    expect(handshake.url).toBe('/ws/json?batch=false');
  });

  it('subscribes and receives the same envelopes as Socket.IO clients, in order', async () => {
    const client = await connected({ query: { token: hsToken('alice') } });
    const socket = await gateway.connect();
    const answer = await client.command('subscribe', { channel: 'trades', symbol: 'btcusdt' });
    expect(answer).toEqual({
      id: 'c1',
      type: 'subscribed',
      timestamp: expect.any(Number),
      data: {
        ok: true,
        channel: 'trades',
        symbol: 'BTCUSDT',
        position: { offset: expect.any(Number), epoch: expect.any(String) },
      },
    });
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'BTCUSDT' });
    const recorder = new Recorder(socket, [RealtimeEvent.Trade]);
    for (let i = 1; i <= 50; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade('BTCUSDT', i));
    const frames = await client.waitForCount(RealtimeEvent.Trade, 50);
    const viaSocketIo = await recorder.waitFor(RealtimeEvent.Trade, 50);
    expect(frames.map((frame) => frame.data)).toEqual(viaSocketIo);
    expect(frames.map((frame) => frame.data.data.tradeId)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(frames[0]).toEqual({
      type: RealtimeEvent.Trade,
      timestamp: expect.any(Number),
      data: viaSocketIo[0],
    });
  });

  it('serves feed rates and partial books in plain frames', async () => {
    const client = await connected({ query: { token: hsToken('alice') } });
    const trades = await client.command('subscribe', {
      channel: 'trades',
      symbol: 'RATEUSDT',
      rate: '250ms',
    });
    expect(trades.data).toMatchObject({ ok: true, rate: '250ms' });
    expect(trades.data).not.toHaveProperty('conflated');
    gateway.emitter.emit(RealtimeEvent.OrderBookSnapshot, {
      symbol: 'RATEUSDT',
      lastUpdateId: 1,
      bids: [['10', '1']],
      asks: [['11', '1']],
    });
    const book = await client.command('subscribe', {
      channel: 'orderbook',
      symbol: 'RATEUSDT',
      depth: 10,
    });
    expect(book.data).toMatchObject({ ok: true, depth: 10, conflated: true });
    expect((await client.next(RealtimeEvent.OrderBookSnapshot)).data.data.bids).toEqual([
      ['10', '1'],
    ]);
    for (let i = 1; i <= 5; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade('RATEUSDT', i));
    const batch = await client.next('batch');
    expect(batch.data.map((envelope: any) => envelope.data.tradeId)).toEqual([1, 2, 3, 4, 5]);
    const refused = await client.command('subscribe', {
      channel: 'trades',
      symbol: 'RATEUSDT',
      depth: 10,
    });
    expect(refused.data.error).toEqual({
      code: 'INVALID_PAYLOAD',
      message: 'depth applies only to orderbook',
    });
  });

  it('takes a token with authenticate and answers it with the greeting', async () => {
    const client = await open();
    await client.next('auth_required');
    client.send({ id: 7, type: 'authenticate', data: { token: hsToken('bob') } });
    const greeting = await client.next('connected');
    expect(greeting).toEqual({
      id: 7,
      type: 'connected',
      timestamp: expect.any(Number),
      data: { connectionId: expect.any(String), userId: 'bob', serverTime: expect.any(Number) },
    });
    const answer = await client.command('subscribe.private', { channel: 'user.orders' });
    expect(answer.type).toBe('subscribed');
    gateway.emitter.emit('order.created', { userId: 'bob', orderId: 7 });
    const order = await client.next('order.created');
    expect(order.data).toMatchObject({
      channel: 'user.orders',
      data: { userId: 'bob', orderId: 7 },
    });
  });

  it('refuses a bad token with AUTH_INVALID and closes', async () => {
    const client = await open();
    await client.next('auth_required');
    client.send({ id: 'a', type: 'authenticate', data: { token: 'not-a-jwt' } });
    const refusal = await client.next('error');
    expect(refusal).toMatchObject({
      id: 'a',
      type: 'error',
      data: { ok: false, command: 'authenticate', error: { code: 'AUTH_INVALID' } },
    });
    expect(await client.closed()).toBe(1008);
  });

  it('refuses private channels to an anonymous connection with AUTH_REQUIRED', async () => {
    const client = await connected();
    const answer = await client.command('subscribe.private', { channel: 'user.orders' });
    expect(answer).toMatchObject({
      id: 'c1',
      type: 'error',
      data: { ok: false, command: 'subscribe.private', error: { code: 'AUTH_REQUIRED' } },
    });
  });

  it('answers bad frames with INVALID_PAYLOAD and keeps the connection', async () => {
    const client = await connected({ query: { token: hsToken('carol') } });
    client.send('{not json');
    client.send('[1,2]');
    client.send({ id: { nested: true }, type: 'ping' });
    client.send({ id: 'x'.repeat(65), type: 'ping' });
    client.send({ id: 'n', type: 42 });
    client.send({ id: 'u', type: 'no.such.command' });
    client.send({ id: 'd', type: 'disconnect' });
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send({ id: 'p', type: 'ping' });
    await client.waitFor((frame) => frame.id === 'p');
    const errors = client.all('error');
    expect(errors.map((frame) => [frame.id, frame.data.error.code])).toEqual([
      [undefined, 'INVALID_PAYLOAD'],
      [undefined, 'INVALID_PAYLOAD'],
      [undefined, 'INVALID_PAYLOAD'],
      [undefined, 'INVALID_PAYLOAD'],
      ['n', 'INVALID_PAYLOAD'],
      ['u', 'INVALID_PAYLOAD'],
      ['d', 'INVALID_PAYLOAD'],
      [undefined, 'INVALID_PAYLOAD'],
    ]);
    expect(errors[0].data.error.message).toMatch(/not JSON/);
    expect(errors[7].data.error.message).toMatch(/binary/);
    expect(client.closeCode).toBeUndefined();
  });

  it('joins anonymously when no authenticate comes within the timeout', async () => {
    const client = await open();
    await client.next('auth_required');
    const greeting = await client.next('connected', AUTH_TIMEOUT_MS + 3000);
    expect(greeting.data.userId).toBeNull();
    expect(greeting.id).toBeUndefined();
  }, 15_000);

  it('leaves every room when the client goes', async () => {
    const client = await connected();
    await client.command('subscribe', { channel: 'trades', symbol: 'LEAVEUSDT' });
    const rooms = gateway.app.get(AppWebSocketGateway).server.adapter.rooms;
    expect(rooms.get('trades:LEAVEUSDT')?.size).toBe(1);
    client.close();
    await sleep(200);
    expect(rooms.has('trades:LEAVEUSDT')).toBe(false);
  });
});

describe('plain-WebSocket JSON endpoint: limits, recovery and the connection lifecycle', () => {
  let gateway: GatewayHarness;
  const clients: JsonClient[] = [];
  const open = async (options: Parameters<typeof JsonClient.open>[1] = {}) => {
    const client = await JsonClient.open(gateway.url, options);
    clients.push(client);
    return client;
  };
  const connected = async (user: string, query: Record<string, string> = {}) => {
    const client = await open({ query: { token: hsToken(user), ...query } });
    await client.next('connected');
    return client;
  };

  beforeAll(async () => {
    gateway = await GatewayHarness.start({
      auth: { secret: TEST_SECRET, clockSkewSeconds: 0 },
      corsOrigins: ['https://app.exchange.test'],
      limits: {
        messageRate: 5,
        messageBurst: 5,
        messageRefusalsBeforeDisconnect: 3,
        maxSubscriptionsPerConnection: 2,
        maxMessageBytes: 1024,
        maxConnectionsPerIp: 4,
      },
    });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await sleep(50);
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('refuses commands past the message rate with RATE_LIMITED, then closes with server.disconnect', async () => {
    const client = await connected('rate');
    for (let i = 0; i < 20; i++) client.send({ id: i, type: 'ping' });
    const notice = await client.next('server.disconnect');
    expect(notice.data).toEqual({ code: 'RATE_LIMITED', reason: 'rate_limited' });
    expect(await client.closed()).toBe(1000);
    const refused = client.all('error');
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused[0]).toMatchObject({
      id: expect.any(Number),
      data: { ok: false, command: 'ping', error: { code: 'RATE_LIMITED' } },
    });
    // The first five passed the limit; the ones refused are the ones past it.
    expect(refused.map((frame) => frame.id)).toEqual([5, 6, 7]);
  });

  it('refuses a subscription past the limit with SUBSCRIPTION_LIMIT', async () => {
    const client = await connected('subs');
    expect((await client.command('subscribe', { channel: 'trades', symbol: 'A' })).type).toBe(
      'subscribed',
    );
    expect((await client.command('subscribe', { channel: 'trades', symbol: 'B' })).type).toBe(
      'subscribed',
    );
    const third = await client.command('subscribe', { channel: 'trades', symbol: 'C' });
    expect(third.data).toMatchObject({ ok: false, error: { code: 'SUBSCRIPTION_LIMIT' } });
  });

  it('closes a connection that sends a frame over the size limit (1009)', async () => {
    const client = await connected('big');
    client.send({ id: 1, type: 'ping', data: { pad: 'x'.repeat(2000) } });
    expect(await client.closed()).toBe(1009);
  });

  it('refuses a browser origin that is not allowed at the door, and admits servers without one', async () => {
    await expect(
      JsonClient.open(gateway.url, { headers: { origin: 'https://evil.test' } }),
    ).rejects.toThrow(/403/);
    const allowed = await open({ headers: { origin: 'https://app.exchange.test' } });
    expect((await allowed.next('auth_required')).type).toBe('auth_required');
  });

  it('counts plain connections in the per-address limit and refuses the next with CONNECTION_LIMIT', async () => {
    for (let i = 0; i < 4; i++) await connected(`ip${i}`);
    const fifth = await open({ query: { token: hsToken('ip5') } });
    const refusal = await fifth.next('error');
    expect(refusal.data).toMatchObject({
      ok: false,
      command: 'connect',
      error: { code: 'CONNECTION_LIMIT' },
    });
    expect(await fifth.closed()).toBe(1008);
  });

  it('refuses more connections waiting to authenticate than the per-address limit at the door', async () => {
    for (let i = 0; i < 4; i++) await (await open()).next('auth_required');
    await expect(JsonClient.open(gateway.url)).rejects.toThrow(/403/);
  });

  it('recovers what it missed with since, exactly once and in order', async () => {
    const first = await connected('recover');
    const answer = await first.command('subscribe', { channel: 'trades', symbol: 'RECUSDT' });
    gateway.emitter.emit(RealtimeEvent.Trade, trade('RECUSDT', 1));
    const seen = await first.next(RealtimeEvent.Trade);
    first.close();
    await sleep(50);
    for (let i = 2; i <= 6; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade('RECUSDT', i));
    const again = await connected('recover');
    const since = { offset: seen.data.offset, epoch: answer.data.position.epoch };
    const resumed = await again.command('subscribe', {
      channel: 'trades',
      symbol: 'RECUSDT',
      since,
    });
    expect(resumed.data).toMatchObject({ ok: true, recovered: true });
    gateway.emitter.emit(RealtimeEvent.Trade, trade('RECUSDT', 7));
    const frames = await again.waitForCount(RealtimeEvent.Trade, 6);
    expect(frames.map((frame) => frame.data.data.tradeId)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(frames.map((frame) => frame.data.offset)).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => seen.data.offset + i),
    );
  });

  it('sends batch frames to a connection that asked for them at the door', async () => {
    const client = await connected('batcher', { batch: 'true' });
    await client.command('subscribe', { channel: 'trades', symbol: 'BATCHUSDT' });
    for (let i = 1; i <= 10; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHUSDT', i));
    const batch = await client.next('batch');
    expect(batch.data.map((envelope: any) => envelope.data.tradeId)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });

  it('cuts a connection that does not answer the heartbeat', async () => {
    const quiet = await JsonClient.open(gateway.url, { autoPong: false });
    clients.push(quiet);
    const lively = await open();
    await Promise.all([quiet.next('auth_required'), lively.next('auth_required')]);
    const endpoint = gateway.app.get(JsonEndpoint);
    endpoint.heartbeat();
    await sleep(100);
    endpoint.heartbeat();
    expect(await quiet.closed()).toBe(1006);
    await sleep(100);
    expect(lively.closeCode).toBeUndefined();
  });

  it('closes with auth.expired when the token expires', async () => {
    const client = await open({ query: { token: hsToken('brief', { ttlSeconds: 1 }) } });
    await client.next('connected');
    const expired = await client.next('auth.expired', 4000);
    expect(expired.data).toMatchObject({ code: 'AUTH_EXPIRED' });
    expect(await client.closed()).toBe(1000);
  });
});

describe('plain-WebSocket JSON endpoint: drain and options', () => {
  it('tells plain connections server.shutdown on a drain and closes them', async () => {
    const gateway = await GatewayHarness.start();
    try {
      const client = await JsonClient.open(gateway.url);
      client.send({ type: 'ping' });
      await client.next('connected');
      const drained = gateway.app.get(ConnectionDrain).drain(400);
      const notice = await client.next('server.shutdown');
      expect(notice.data).toEqual({ reconnectAfterMs: expect.any(Number) });
      await drained;
      expect(await client.closed()).toBe(1000);
    } finally {
      await gateway.stop();
    }
  });

  it('serves no plain endpoint with jsonPath false, and another path when asked', async () => {
    const off = await GatewayHarness.start({ jsonPath: false });
    try {
      await expect(JsonClient.open(off.url)).rejects.toThrow();
    } finally {
      await off.stop();
    }
    const moved = await GatewayHarness.start({ jsonPath: '/bots' });
    try {
      const client = await JsonClient.open(moved.url, { path: '/bots' });
      expect((await client.next('auth_required')).type).toBe('auth_required');
      client.close();
    } finally {
      await moved.stop();
    }
  });
});
