import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AUTH_TIMEOUT_MS, AppWebSocketGateway, RealtimeEvent } from '#realtime/internal';
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
