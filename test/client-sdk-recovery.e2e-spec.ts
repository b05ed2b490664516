import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeEvent, type RealtimeModuleOptions } from '#realtime';
import {
  RealtimeClient,
  isLost,
  type Gap,
  type ReconnectRecovery,
  type Recovery,
} from '../libs/client/src/index.js';
import { ClientNetwork } from './support/client-network.js';
import { GatewayHarness, Recorder, command, until } from './support/gateway-harness.js';
import { freePort } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const SYMBOL = 'RECOVERUSDT';
const TRADES = { channel: 'trades', symbol: SYMBOL } as const;
const ORDERS = { channel: 'user.orders' } as const;

const clients: RealtimeClient[] = [];
const gateways: GatewayHarness[] = [];
const networks: ClientNetwork[] = [];
const redises: RedisServer[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const gateway of gateways.splice(0)) await gateway.stop();
  for (const network of networks.splice(0)) await network.stop();
  for (const redis of redises.splice(0)) await redis.stop();
});

async function gateway(
  realtime: RealtimeModuleOptions = {},
  more: Parameters<typeof GatewayHarness.start>[1] = {},
  port = 0,
): Promise<GatewayHarness> {
  const started = await GatewayHarness.start(
    { auth: { secret: TEST_SECRET }, ...realtime },
    more,
    port,
  );
  gateways.push(started);
  return started;
}

async function network(target: GatewayHarness): Promise<ClientNetwork> {
  const started = await new ClientNetwork(Number(new URL(target.url).port)).start();
  networks.push(started);
  return started;
}

/**
 * An SDK client signed in as `ria`, with what its handlers got written down, every
 * recovery, gap and reconnect outcome, and the subscribe commands it sent.
 */
async function sdkClient(url: string) {
  const sdk = new RealtimeClient({ url, token: hsToken('ria', { ttlSeconds: 600 }) });
  clients.push(sdk);
  const got = {
    trades: [] as Array<{ id: number; offset: number; replay: boolean }>,
    orders: [] as Array<{ id: number; offset: number }>,
  };
  sdk.on('trade', (e) =>
    got.trades.push({ id: e.data.tradeId as number, offset: e.offset, replay: e.replay === true }),
  );
  sdk.on('order.filled', (e) =>
    got.orders.push({ id: e.data.orderId as number, offset: e.offset }),
  );
  const recoveries: Recovery[] = [];
  const gaps: Gap[] = [];
  const reconnects: ReconnectRecovery[] = [];
  sdk.onRecovery((recovery) => recoveries.push(recovery));
  sdk.onGap((gap) => gaps.push(gap));
  sdk.onResubscribed((outcome) => reconnects.push(outcome));
  const sent: Array<{ event: string; payload: any }> = [];
  (
    sdk as unknown as { socket: { onAnyOutgoing: (l: (...a: any[]) => void) => void } }
  ).socket.onAnyOutgoing((event: string, payload: unknown) => {
    if (event.startsWith('subscribe')) sent.push({ event, payload });
  });
  await until(() => sdk.state.value === 'connected', 5000, 'connected');
  return { sdk, got, recoveries, gaps, reconnects, sent };
}

/**
 * A plain connection that stays up, subscribed like the SDK client; `seen(event, count)`
 * waits until it got `count` live (not replayed) ones: they were published and positioned.
 */
async function observer(server: GatewayHarness) {
  const socket = await server.connect({ auth: { token: hsToken('ria', { ttlSeconds: 600 }) } });
  const recorder = new Recorder(socket, ['trade', 'order.filled']);
  expect((await command(socket, 'subscribe', TRADES)).ok).toBe(true);
  expect((await command(socket, 'subscribe.private', ORDERS)).ok).toBe(true);
  const live = (event: string) => recorder.payloads(event).filter((e) => !e.replay);
  return {
    seen: (event: string, count: number) =>
      until(() => live(event).length === count, 3000, `${count} live ${event} on the observer`),
  };
}

const trade = (server: GatewayHarness, tradeId: number) =>
  server.emitter.emit(RealtimeEvent.Trade, {
    symbol: SYMBOL,
    tradeId,
    price: '1.5',
    quantity: '2',
    side: 'buy',
  });
const fill = (server: GatewayHarness, orderId: number, userId = 'ria') =>
  server.emitter.emit(RealtimeEvent.OrderFilled, { userId, orderId, symbol: SYMBOL });
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const consecutive = (offsets: number[]) =>
  offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1);

describe('client SDK: nothing lost across reconnects, against the real gateway', () => {
  it('hands over every trade and order missed while offline, once each and in order, then live ones, and says it recovered', async () => {
    const server = await gateway();
    const net = await network(server);
    const { sdk, got, recoveries, gaps, reconnects, sent } = await sdkClient(net.url);
    expect(await sdk.subscribe(TRADES)).toEqual({
      ok: true,
      channel: 'trades',
      symbol: SYMBOL,
      position: { offset: expect.any(Number), epoch: expect.any(String) },
    });
    await sdk.subscribe(ORDERS);
    for (const id of range(1, 3)) trade(server, id);
    for (const id of range(1, 2)) fill(server, id);
    await until(() => got.trades.length === 3 && got.orders.length === 2, 3000, 'live events');
    const tradesAt = sdk.position(TRADES)!;
    const ordersAt = sdk.position(ORDERS)!;
    expect(tradesAt.offset).toBe(got.trades.at(-1)!.offset);
    expect(ordersAt.offset).toBe(got.orders.at(-1)!.offset);
    // Subscribing again on the same connection changes nothing, the known position included.
    expect(await sdk.subscribe(TRADES)).toMatchObject({ ok: true, channel: 'trades' });
    expect(sdk.position(TRADES)).toEqual(tradesAt);

    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the connection to drop');
    const published = await observer(server);
    for (const id of range(4, 10)) trade(server, id);
    fill(server, 3);
    fill(server, 99, 'bob');
    for (const id of range(4, 6)) fill(server, id);
    await published.seen('order.filled', 4);
    await published.seen('trade', 7);
    expect(got.trades).toHaveLength(3);

    net.goOnline();
    await until(() => reconnects.length === 1, 15_000, 'the reconnect');
    for (const id of range(11, 12)) trade(server, id);
    fill(server, 7);
    await until(() => got.trades.length >= 12 && got.orders.length >= 7, 3000, 'live events after');

    expect(got.trades.map((t) => t.id)).toEqual(range(1, 12));
    expect(got.orders.map((o) => o.id)).toEqual(range(1, 7));
    expect(got.trades.some((t) => t.replay)).toBe(false);
    expect(consecutive(got.trades.map((t) => t.offset))).toBe(true);
    expect(consecutive(got.orders.map((o) => o.offset))).toBe(true);
    expect(gaps).toEqual([]);
    // The resubscribes said where the client was.
    expect(sent.slice(-2)).toEqual([
      { event: 'subscribe', payload: { ...TRADES, since: tradesAt } },
      { event: 'subscribe.private', payload: { ...ORDERS, since: ordersAt } },
    ]);
    const byKey = Object.fromEntries(recoveries.map((r) => [r.key, r]));
    expect(byKey[`trades:${SYMBOL}`]).toMatchObject({
      cause: 'reconnect',
      recovered: true,
      missed: 7,
      since: tradesAt,
      position: { offset: tradesAt.offset + 7, epoch: tradesAt.epoch },
    });
    expect(byKey['user.orders']).toMatchObject({
      cause: 'reconnect',
      recovered: true,
      missed: 4,
      since: ordersAt,
    });
    expect(recoveries).toHaveLength(2);
    expect(reconnects[0]).toMatchObject({ recovered: true, missed: 11, lost: [] });
    expect(sdk.lastReconnect.value).toBe(reconnects[0]);
    expect(sdk.recoveries.value.get('user.orders')).toBe(byKey['user.orders']);
  }, 30_000);

  it('keeps its subscriptions when the connection drops again while it resubscribes, and recovers on the next', async () => {
    const server = await gateway();
    const net = await network(server);
    const { sdk, got, recoveries, gaps, reconnects, sent } = await sdkClient(net.url);
    await sdk.subscribe(TRADES);
    await sdk.subscribe(ORDERS);
    trade(server, 1);
    fill(server, 1);
    await until(() => got.trades.length === 1 && got.orders.length === 1, 3000, 'live events');
    const published = await observer(server);

    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the connection to drop');
    trade(server, 2);
    fill(server, 2);
    await published.seen('trade', 1);
    await published.seen('order.filled', 1);
    // Back for a moment only: cut again as soon as the client is greeted, before any answer.
    let greeted = 0;
    const stop = sdk.state.subscribe((state) => {
      if (state === 'connected' && ++greeted === 1) net.goOffline();
    });
    net.goOnline();
    await until(() => greeted === 1, 15_000, 'the first reconnect');
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the second drop');
    trade(server, 3);
    await published.seen('trade', 2);
    net.goOnline();
    await until(() => reconnects.length === 1, 15_000, 'the second reconnect');
    stop();
    trade(server, 4);
    fill(server, 3);
    await until(() => got.trades.length >= 4 && got.orders.length >= 3, 3000, 'live events after');
    expect(got.trades.map((t) => t.id)).toEqual(range(1, 4));
    expect(got.orders.map((o) => o.id)).toEqual(range(1, 3));
    expect(gaps).toEqual([]);
    expect(sent.filter((c) => c.payload.channel === 'trades')).toHaveLength(3);
    expect(reconnects).toEqual([expect.objectContaining({ recovered: true, missed: 3 })]);
    expect(recoveries.map((r) => [r.key, r.recovered, r.missed]).sort()).toEqual([
      [`trades:${SYMBOL}`, true, 2],
      ['user.orders', true, 1],
    ]);
  }, 45_000);

  it('makes a subscription asked for while offline once when back, beside the resubscribed ones', async () => {
    const server = await gateway();
    const net = await network(server);
    const { sdk, got, reconnects, sent } = await sdkClient(net.url);
    await sdk.subscribe(ORDERS);
    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the connection to drop');
    trade(server, 1);
    const subscribed = sdk.subscribe(TRADES);
    net.goOnline();
    expect(await subscribed).toMatchObject({
      ok: true,
      channel: 'trades',
      position: { offset: 1 },
    });
    await until(() => reconnects.length === 1, 15_000, 'the reconnect');
    expect(sent.map((c) => c.payload.channel)).toEqual(['user.orders', 'trades', 'user.orders']);
    expect(reconnects[0]!.subscriptions.map((r) => r.key)).toEqual(['user.orders']);
    // The trade of before is the replayed recent one; the next is live.
    trade(server, 2);
    await until(() => got.trades.length === 2, 3000, 'the trades');
    expect(got.trades.map((t) => [t.id, t.replay])).toEqual([
      [1, true],
      [2, false],
    ]);
  }, 30_000);

  it('resumes on another instance: the missed messages come from the stream the instances share in Redis', async () => {
    const redis = new RedisServer(await freePort());
    redises.push(redis);
    await redis.start();
    const a = await gateway({ instanceId: 'a' }, { redis: { url: redis.url } });
    const b = await gateway({ instanceId: 'b' }, { redis: { url: redis.url } });
    for (const instance of [a, b])
      await until(
        async () => (await fetch(`${instance.url}/health/ready`)).status === 200,
        15_000,
        'ready on Redis',
      );
    const net = await network(a);
    const { sdk, got, recoveries, gaps, reconnects } = await sdkClient(net.url);
    await sdk.subscribe(TRADES);
    await sdk.subscribe(ORDERS);
    trade(b, 1);
    fill(a, 1);
    await until(() => got.trades.length === 1 && got.orders.length === 1, 3000, 'live events');

    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the connection to drop');
    net.target = Number(new URL(b.url).port);
    const published = await observer(b);
    for (const id of range(2, 5)) trade(a, id);
    for (const id of range(2, 3)) fill(b, id);
    await published.seen('trade', 4);
    await published.seen('order.filled', 2);

    net.goOnline();
    await until(() => reconnects.length === 1, 15_000, 'the reconnect to instance b');
    trade(a, 6);
    fill(a, 4);
    await until(() => got.trades.length >= 6 && got.orders.length >= 4, 3000, 'live events on b');
    expect(got.trades.map((t) => t.id)).toEqual(range(1, 6));
    expect(got.orders.map((o) => o.id)).toEqual(range(1, 4));
    expect(gaps).toEqual([]);
    expect(recoveries.map((r) => [r.key, r.recovered, r.missed]).sort()).toEqual([
      [`trades:${SYMBOL}`, true, 4],
      ['user.orders', true, 2],
    ]);
    expect(reconnects[0]).toMatchObject({ recovered: true, missed: 6 });
  }, 45_000);

  it('says too_old when more was missed than the history keeps: trades replay their recent ones, private channels nothing', async () => {
    const server = await gateway({
      recovery: {
        history: { trades: { size: 3, ageMs: 60_000 }, private: { size: 2, ageMs: 60_000 } },
      },
    });
    const net = await network(server);
    const { sdk, got, recoveries, reconnects } = await sdkClient(net.url);
    await sdk.subscribe(TRADES);
    await sdk.subscribe(ORDERS);
    trade(server, 1);
    fill(server, 1);
    await until(() => got.trades.length === 1 && got.orders.length === 1, 3000, 'live events');

    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the connection to drop');
    const published = await observer(server);
    for (const id of range(2, 30)) trade(server, id);
    for (const id of range(2, 6)) fill(server, id);
    await published.seen('order.filled', 5);
    await published.seen('trade', 29);

    net.goOnline();
    await until(() => reconnects.length === 1, 15_000, 'the reconnect');
    const byKey = Object.fromEntries(recoveries.map((r) => [r.key, r]));
    expect(byKey[`trades:${SYMBOL}`]).toMatchObject({ recovered: false, reason: 'too_old' });
    expect(byKey['user.orders']).toMatchObject({ recovered: false, reason: 'too_old' });
    expect(byKey['user.orders']!.missed).toBeUndefined();
    expect(isLost(byKey[`trades:${SYMBOL}`]!)).toBe(true);
    expect(reconnects[0]!.recovered).toBe(false);
    expect(reconnects[0]!.lost.map((r) => r.key).sort()).toEqual([
      `trades:${SYMBOL}`,
      'user.orders',
    ]);
    // The trades' current state: their recent ones, replayed, ending with the last published.
    await until(() => got.trades.at(-1)?.id === 30, 3000, 'the replayed recent trades');
    const replayed = got.trades.slice(1);
    expect(replayed.every((t) => t.replay)).toBe(true);
    expect(replayed.map((t) => t.id)).toEqual(range(31 - replayed.length, 30));
    // Private channels replay nothing: the next order is the next one seen.
    fill(server, 7);
    await until(() => got.orders.length === 2, 3000, 'the next order');
    expect(got.orders.map((o) => o.id)).toEqual([1, 7]);
  }, 30_000);

  it('says epoch_changed after the gateway restarted without Redis, and carries on in the new epoch', async () => {
    const port = await freePort();
    let server = await gateway({}, {}, port);
    const { sdk, got, recoveries, gaps, reconnects, sent } = await sdkClient(server.url);
    await sdk.subscribe(TRADES);
    await sdk.subscribe(ORDERS);
    trade(server, 1);
    fill(server, 1);
    await until(() => got.trades.length === 1 && got.orders.length === 1, 3000, 'live events');
    const before = sdk.position(TRADES)!;

    await server.stop();
    gateways.splice(gateways.indexOf(server), 1);
    await until(() => sdk.state.value === 'reconnecting', 5000, 'reconnecting');
    server = await gateway({}, {}, port);
    await until(() => reconnects.length === 1, 15_000, 'the reconnect');
    expect(sent.at(-2)).toEqual({ event: 'subscribe', payload: { ...TRADES, since: before } });
    expect(recoveries.map((r) => [r.key, r.recovered, r.reason]).sort()).toEqual([
      [`trades:${SYMBOL}`, false, 'epoch_changed'],
      ['user.orders', false, 'epoch_changed'],
    ]);
    expect(reconnects[0]).toMatchObject({ recovered: false });
    trade(server, 2);
    fill(server, 2);
    await until(() => got.trades.length === 2 && got.orders.length === 2, 3000, 'live events');
    expect(sdk.position(TRADES)!.epoch).not.toBe(before.epoch);
    expect(gaps).toEqual([]);
  }, 30_000);

  it('takes a live message of a new epoch (Redis went away) as a reset, not a gap', async () => {
    const redis = new RedisServer(await freePort());
    redises.push(redis);
    await redis.start();
    const server = await gateway({}, { redis: { url: redis.url } });
    await until(
      async () => (await fetch(`${server.url}/health/ready`)).status === 200,
      15_000,
      'ready on Redis',
    );
    const { sdk, got, recoveries, gaps } = await sdkClient(server.url);
    await sdk.subscribe(TRADES);
    trade(server, 1);
    await until(() => got.trades.length === 1, 3000, 'a live trade');
    const before = sdk.position(TRADES)!;

    await redis.stop();
    await until(
      async () => (await fetch(`${server.url}/health/ready`)).status !== 200,
      15_000,
      'the gateway to see Redis gone',
    );
    trade(server, 2);
    await until(() => got.trades.length === 2, 3000, 'the trade served alone');
    expect(sdk.state.value).toBe('connected');
    expect(gaps).toEqual([]);
    expect(recoveries).toEqual([
      expect.objectContaining({
        key: `trades:${SYMBOL}`,
        cause: 'reset',
        recovered: false,
        reason: 'epoch_changed',
        since: before,
      }),
    ]);
    expect(sdk.position(TRADES)!.epoch).not.toBe(before.epoch);
  }, 45_000);

  it('restarts an order book from a snapshot after a reconnect (history_off), not counted as lost', async () => {
    const server = await gateway();
    const net = await network(server);
    const { sdk, recoveries, reconnects, sent } = await sdkClient(net.url);
    const checksummed = { symbol: SYMBOL, bids: [['1', '1']], asks: [['2', '1']] };
    server.emitter.emit(RealtimeEvent.OrderBookSnapshot, { ...checksummed, lastUpdateId: 10 });
    const book = sdk.orderBook(SYMBOL);
    await until(() => book.state === 'synced', 3000, 'the book');

    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the connection to drop');
    server.emitter.emit(RealtimeEvent.OrderBookUpdate, {
      symbol: SYMBOL,
      firstUpdateId: 11,
      lastUpdateId: 11,
      bids: [['1', '5']],
      asks: [],
    });
    net.goOnline();
    await until(() => reconnects.length === 1, 15_000, 'the reconnect');
    await until(() => book.state === 'synced', 3000, 'the book again');
    expect(book.book.lastUpdateId).toBe(11);
    expect(book.bids()).toEqual([['1', '5']]);
    expect(recoveries).toEqual([
      expect.objectContaining({
        key: `orderbook:${SYMBOL}`,
        recovered: false,
        reason: 'history_off',
      }),
    ]);
    expect(reconnects[0]).toMatchObject({ recovered: true, lost: [] });
    expect(sent.at(-1)!.payload.since).toEqual(
      expect.objectContaining({ epoch: expect.any(String) }),
    );

    server.emitter.emit(RealtimeEvent.OrderBookUpdate, {
      symbol: SYMBOL,
      firstUpdateId: 12,
      lastUpdateId: 12,
      bids: [],
      asks: [['2', '0']],
    });
    await until(() => book.book.lastUpdateId === 12, 3000, 'the update continuing the snapshot');
    expect(book.state).toBe('synced');
    expect(book.asks()).toEqual([]);
  }, 30_000);
});
