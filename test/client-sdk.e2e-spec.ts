import { afterEach, describe, expect, it } from '@jest/globals';
import { AppWebSocketGateway, RealtimeEvent, type ConnectionData } from '#realtime/internal';
import { RealtimeClient, RealtimeClientError, type Gap } from '../libs/client/src/index.js';
import { GatewayHarness, sleep, until } from './support/gateway-harness.js';
import { freePort } from './support/processes.js';
import { ReferenceBook, randomLevels, seeded } from './support/reference-book.js';
import { TEST_SECRET, jwt } from './support/tokens.js';

const clients: RealtimeClient[] = [];
const gateways: GatewayHarness[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const gateway of gateways.splice(0)) await gateway.stop();
});

async function gateway(port = 0): Promise<GatewayHarness> {
  const started = await GatewayHarness.start({ auth: { secret: TEST_SECRET } }, {}, port);
  gateways.push(started);
  return started;
}

function client(
  url: string,
  options: Partial<ConstructorParameters<typeof RealtimeClient>[0]> = {},
): RealtimeClient {
  const created = new RealtimeClient({ url, ...options });
  clients.push(created);
  return created;
}

const connected = (c: RealtimeClient) =>
  until(() => c.state.value === 'connected', 5000, 'connected');

describe('client SDK: RealtimeClient against the real gateway', () => {
  it('subscribes with promises, delivers typed events, and rejects with the documented code', async () => {
    const server = await gateway();
    const sdk = client(server.url);
    await connected(sdk);
    expect(await sdk.subscribe({ channel: 'trades', symbol: 'sdkusdt' })).toEqual({
      ok: true,
      channel: 'trades',
      symbol: 'SDKUSDT',
      position: { offset: 0, epoch: expect.any(String) },
    });
    const trades: number[] = [];
    sdk.on('trade', (envelope) => trades.push(envelope.data.tradeId as number));
    server.emitter.emit(RealtimeEvent.Trade, { symbol: 'SDKUSDT', tradeId: 7 });
    await until(() => trades.length === 1, 2000, 'the trade');
    await expect(sdk.subscribe({ channel: 'klines', symbol: 'SDKUSDT' })).rejects.toEqual(
      new RealtimeClientError('INVALID_INTERVAL', 'interval is required for klines'),
    );
  });

  it('takes batches unless told not to, and hands each envelope to its handler in order', async () => {
    const server = await gateway();
    const batching = client(server.url);
    const plain = client(server.url, { batching: false });
    const received = new Map<RealtimeClient, number[]>();
    const gaps: Gap[] = [];
    for (const sdk of [batching, plain]) {
      await connected(sdk);
      await sdk.subscribe({ channel: 'trades', symbol: 'BATCHSDK' });
      received.set(sdk, []);
      sdk.on('trade', (envelope) => received.get(sdk)!.push(envelope.data.tradeId as number));
      sdk.onGap((gap) => gaps.push(gap));
    }
    for (let tradeId = 1; tradeId <= 50; tradeId++) {
      server.emitter.emit(RealtimeEvent.Trade, { symbol: 'BATCHSDK', tradeId });
    }
    await until(
      () => [...received.values()].every((ids) => ids.length === 50),
      3000,
      'every trade on both clients',
    );
    const expected = Array.from({ length: 50 }, (_, i) => i + 1);
    expect(received.get(batching)).toEqual(expected);
    expect(received.get(plain)).toEqual(expected);
    expect(gaps).toEqual([]);
    const modes = [...server.app.get(AppWebSocketGateway).server.sockets.values()].map(
      (socket) => (socket.data as ConnectionData).batched,
    );
    expect(modes.sort()).toEqual([false, true]);
  });

  it('restores every subscription after the server restarts, and says so', async () => {
    const port = await freePort();
    let server = await gateway(port);
    const token = jwt.sign({ sub: 'ria', exp: Math.floor(Date.now() / 1000) + 600 }, TEST_SECRET);
    const sdk = client(server.url, { token });
    const states: string[] = [];
    sdk.state.subscribe((state) => states.push(state));
    await connected(sdk);
    await sdk.subscribe({ channel: 'trades', symbol: 'RESTARTUSDT' });
    await sdk.subscribe({ channel: 'user.orders' });
    let resubscribed = 0;
    sdk.onResubscribed(() => resubscribed++);
    const seen: string[] = [];
    sdk.on('trade', (e) => seen.push(`trade ${e.data.tradeId}`));
    sdk.on('order.filled', (e) => seen.push(`order ${e.data.orderId}`));

    await server.stop();
    gateways.splice(gateways.indexOf(server), 1);
    await until(() => sdk.state.value === 'reconnecting', 5000, 'reconnecting');
    server = await gateway(port);
    await until(() => resubscribed === 1, 15_000, 'the resubscription');
    server.emitter.emit(RealtimeEvent.Trade, { symbol: 'RESTARTUSDT', tradeId: 1 });
    server.emitter.emit(RealtimeEvent.OrderFilled, { userId: 'ria', orderId: 2 });
    await until(() => seen.length === 2, 3000, 'events after the restart');
    expect(seen).toEqual(['trade 1', 'order 2']);
    expect(states).toEqual(expect.arrayContaining(['connected', 'reconnecting']));
  }, 30_000);

  it('refreshes its token before it expires and keeps the connection and its subscriptions', async () => {
    const server = await gateway();
    let issued = 0;
    const token = async () => {
      issued++;
      return jwt.sign({ sub: 'tom', exp: Math.floor(Date.now() / 1000) + 3 }, TEST_SECRET);
    };
    const sdk = client(server.url, { token, refreshBeforeMs: 1500 });
    await connected(sdk);
    await sdk.subscribe({ channel: 'user.balances' });
    let disconnected = false;
    sdk.state.subscribe((state) => (disconnected ||= state !== 'connected'));
    await sleep(7000);
    expect(disconnected).toBe(false);
    expect(issued).toBeGreaterThanOrEqual(3);
    const balances: string[] = [];
    sdk.on('balance.updated', (e) => balances.push(e.data.free as string));
    server.emitter.emit(RealtimeEvent.BalanceUpdated, { userId: 'tom', asset: 'USDT', free: '5' });
    await until(() => balances.length === 1, 2000, 'the balance');
  }, 20_000);

  it('keeps a verified order book through random bursts, and resyncs by itself after a lost message', async () => {
    const server = await gateway();
    const sdk = client(server.url);
    await connected(sdk);
    const random = seeded(9);
    const upstream = new ReferenceBook();
    const symbol = 'BOOKUSDT';
    let lastUpdateId = 1;
    const bids = randomLevels(random, 50, 90, 100).filter(([, q]) => Number(q) > 0);
    const asks = randomLevels(random, 50, 100, 110).filter(([, q]) => Number(q) > 0);
    upstream.apply('bids', bids);
    upstream.apply('asks', asks);
    server.emitter.emit(RealtimeEvent.OrderBookSnapshot, { symbol, lastUpdateId, bids, asks });
    const sent: Array<{ event: string; payload: unknown }> = [];
    (
      sdk as unknown as { socket: { onAnyOutgoing: (l: (...a: any[]) => void) => void } }
    ).socket.onAnyOutgoing((event: string, payload: unknown) => {
      if (event.startsWith('subscribe')) sent.push({ event, payload });
    });
    const book = sdk.orderBook(symbol);
    const gaps: Gap[] = [];
    sdk.onGap((gap) => gaps.push(gap));
    await until(() => book.state === 'synced', 3000, 'the snapshot');

    const burst = (updates: number) => {
      for (let i = 0; i < updates; i++) {
        const b = randomLevels(random, 5, 90, 100);
        const a = randomLevels(random, 5, 100, 110);
        upstream.apply('bids', b);
        upstream.apply('asks', a);
        server.emitter.emit(RealtimeEvent.OrderBookUpdate, {
          symbol,
          firstUpdateId: lastUpdateId + 1,
          lastUpdateId: lastUpdateId + 10,
          bids: b,
          asks: a,
        });
        lastUpdateId += 10;
      }
    };
    for (let round = 0; round < 10; round++) {
      burst(50);
      await sleep(10);
    }
    await until(() => book.book.lastUpdateId === lastUpdateId, 5000, 'the bursts');
    expect(book.bids(Infinity)).toEqual(upstream.sorted('bids'));
    expect(book.asks(Infinity)).toEqual(upstream.sorted('asks'));

    // Lose one message on the way, as a flaky network would: the SDK sees the gap and resyncs.
    // Updates of one turn come in one batch: the first update inside it is the one lost.
    const manager = (
      sdk as unknown as {
        socket: { io: { emitReserved: (event: string, ...args: unknown[]) => unknown } };
      }
    ).socket.io;
    const emit = manager.emitReserved.bind(manager);
    let dropped = false;
    manager.emitReserved = (event: string, ...args: unknown[]) => {
      const packet = args[0] as { data?: unknown[] } | undefined;
      if (!dropped && event === 'packet' && Array.isArray(packet?.data)) {
        const [name, batch] = packet.data as [string, Array<{ event: string }>];
        const lost = name === 'batch' ? batch.findIndex((e) => e.event === 'orderbook.update') : -1;
        if (lost >= 0) {
          dropped = true;
          batch.splice(lost, 1);
        }
      }
      return emit(event, ...args);
    };
    burst(20);
    await until(() => gaps.length > 0, 3000, 'the gap');
    await until(
      () => book.state === 'synced' && book.book.lastUpdateId === lastUpdateId,
      5000,
      'the resync',
    );
    expect(dropped).toBe(true);
    expect(gaps[0]).toEqual({
      key: `orderbook:${symbol}`,
      epoch: expect.any(String),
      expected: expect.any(Number),
      received: expect.any(Number),
    });
    expect(gaps[0]!.received).toBeGreaterThan(gaps[0]!.expected);
    // The resync asks for a fresh snapshot: no `since`.
    expect(sent.at(-1)).toEqual({ event: 'subscribe', payload: { channel: 'orderbook', symbol } });
    expect(book.bids(Infinity)).toEqual(upstream.sorted('bids'));
    expect(book.asks(Infinity)).toEqual(upstream.sorted('asks'));
  }, 30_000);

  it('leaves nothing running after close()', async () => {
    const server = await gateway();
    const sdk = client(server.url, {
      token: async () =>
        jwt.sign({ sub: 'cal', exp: Math.floor(Date.now() / 1000) + 60 }, TEST_SECRET),
    });
    await connected(sdk);
    await sdk.subscribe({ channel: 'ticker', symbol: 'all' });
    sdk.close();
    expect(sdk.state.value).toBe('closed');
    await sleep(300);
    const namespace = server.app.get(
      (await import('#realtime/internal')).AppWebSocketGateway,
    ).server;
    expect(namespace.sockets.size).toBe(0);
  });
});
