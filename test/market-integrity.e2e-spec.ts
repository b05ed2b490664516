import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MarketState, RealtimeEvent } from '#realtime/internal';
import { OrderBookSync, type OrderBookEnvelope } from '../libs/client/src/index.js';
import { GatewayHarness, Recorder, command, roundTrip, sleep } from './support/gateway-harness.js';
import { ReferenceBook, randomLevels, seeded, type Level } from './support/reference-book.js';

describe('market integrity: order books', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const emit = (event: string, data: object) => gateway.emitter.emit(event, data);

  /** A client that keeps its book with the SDK and records every state it passed through. */
  async function bookClient(symbol: string) {
    const socket = await gateway.connect();
    const sync = new OrderBookSync(symbol);
    const states: string[] = [];
    const received: string[] = [];
    for (const event of ['orderbook.snapshot', 'orderbook.update']) {
      socket.on(event, (envelope: OrderBookEnvelope) => {
        received.push(event);
        states.push(sync.apply(envelope));
      });
    }
    const subscribed = command(socket, 'subscribe', { channel: 'orderbook', symbol });
    return { socket, sync, states, received, subscribed };
  }

  it.each([101, 202, 303])(
    'lets clients that join at random moments rebuild exactly the upstream book, every checksum matching (seed %i)',
    async (seed) => {
      const random = seeded(seed);
      const symbol = `PROP${seed}`;
      const upstream = new ReferenceBook();
      let lastUpdateId = 1000;
      const initialBids = randomLevels(random, 100, 90, 100).filter(([, q]) => Number(q) > 0);
      const initialAsks = randomLevels(random, 100, 100, 110).filter(([, q]) => Number(q) > 0);
      upstream.apply('bids', initialBids);
      upstream.apply('asks', initialAsks);
      emit(RealtimeEvent.OrderBookSnapshot, {
        symbol,
        lastUpdateId,
        bids: initialBids,
        asks: initialAsks,
      });

      const clients: Array<Awaited<ReturnType<typeof bookClient>>> = [];
      const joins = new Set(Array.from({ length: 8 }, () => Math.floor(random() * 150)));
      for (let chunk = 0; chunk < 150; chunk++) {
        if (joins.has(chunk)) clients.push(await bookClient(symbol));
        for (let n = 0; n < 20; n++) {
          const bids: Level[] = randomLevels(random, Math.floor(random() * 8), 90, 100);
          const asks: Level[] = randomLevels(random, Math.floor(random() * 8), 100, 110);
          const count = Math.max(1, bids.length + asks.length);
          upstream.apply('bids', bids);
          upstream.apply('asks', asks);
          emit(RealtimeEvent.OrderBookUpdate, {
            symbol,
            firstUpdateId: lastUpdateId + 1,
            lastUpdateId: lastUpdateId + count,
            bids,
            asks,
          });
          lastUpdateId += count;
        }
        // Let subscriptions arrive in the middle of the burst.
        await nextTurn();
      }
      for (const client of clients) {
        await client.subscribed;
        await roundTrip(client.socket);
      }

      expect(clients.length).toBeGreaterThanOrEqual(6);
      const gatewayBook = gateway.app.get(MarketState).replay('orderbook', symbol)[0]!.data;
      expect(gatewayBook.bids).toEqual(upstream.sorted('bids'));
      expect(gatewayBook.asks).toEqual(upstream.sorted('asks'));
      expect(gatewayBook.checksum).toBe(upstream.checksum());
      expect(gatewayBook.lastUpdateId).toBe(lastUpdateId);
      for (const client of clients) {
        expect(client.received[0]).toBe('orderbook.snapshot');
        expect(client.states.every((state) => state === 'synced')).toBe(true);
        expect(client.sync.book.lastUpdateId).toBe(lastUpdateId);
        expect(client.sync.bids(Infinity)).toEqual(upstream.sorted('bids'));
        expect(client.sync.asks(Infinity)).toEqual(upstream.sorted('asks'));
      }
    },
    60_000,
  );

  it('stops an order book at an upstream hole until the next snapshot, which resets every client', async () => {
    const symbol = 'HOLEUSDT';
    emit(RealtimeEvent.OrderBookSnapshot, {
      symbol,
      lastUpdateId: 10,
      bids: [['10', '1']],
      asks: [['11', '1']],
    });
    const client = await bookClient(symbol);
    await client.subscribed;
    const update = (first: number, last: number, bid: Level) =>
      emit(RealtimeEvent.OrderBookUpdate, {
        symbol,
        firstUpdateId: first,
        lastUpdateId: last,
        bids: [bid],
        asks: [],
      });
    update(11, 11, ['10', '2']);
    update(13, 13, ['10', '3']);
    update(14, 14, ['10', '4']);
    await roundTrip(client.socket);
    expect(client.received).toEqual(['orderbook.snapshot', 'orderbook.update']);
    expect(client.sync.bids()).toEqual([['10', '2']]);
    expect(gateway.app.get(MarketState).heldBackCounts().get(`gap ${symbol}`)).toBe(1);

    const late = await bookClient(symbol);
    await late.subscribed;
    await roundTrip(late.socket);
    expect(late.received).toEqual([]);

    emit(RealtimeEvent.OrderBookSnapshot, {
      symbol,
      lastUpdateId: 20,
      bids: [['9', '5']],
      asks: [['12', '1']],
    });
    update(21, 21, ['9.5', '1']);
    for (const each of [client, late]) {
      await roundTrip(each.socket);
      expect(each.sync.state).toBe('synced');
      expect(each.sync.bids()).toEqual([
        ['9.5', '1'],
        ['9', '5'],
      ]);
      expect(each.states.every((state) => state === 'synced')).toBe(true);
    }
  });

  it('forwards nothing for a symbol before its first snapshot', async () => {
    const symbol = 'NEWUSDT';
    const client = await bookClient(symbol);
    await client.subscribed;
    emit(RealtimeEvent.OrderBookUpdate, {
      symbol,
      firstUpdateId: 1,
      lastUpdateId: 1,
      bids: [['1', '1']],
      asks: [],
    });
    await roundTrip(client.socket);
    expect(client.received).toEqual([]);
    expect(gateway.app.get(MarketState).heldBackCounts().get(`before-snapshot ${symbol}`)).toBe(1);
  });
});

describe('market integrity: snapshots on subscribe', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ recentTrades: 20 });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('gives a new ticker subscriber the latest ticker at once, then live ones with the next offset', async () => {
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol: 'SNAPUSDT', lastPrice: '1' });
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol: 'SNAPUSDT', lastPrice: '2' });
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['ticker.update']);
    await command(socket, 'subscribe', { channel: 'ticker', symbol: 'SNAPUSDT' });
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol: 'SNAPUSDT', lastPrice: '3' });
    await recorder.waitFor('ticker.update', 2);
    expect(
      recorder
        .payloads('ticker.update')
        .map(({ offset, replay, data }) => [offset, replay, data.lastPrice]),
    ).toEqual([
      [0, true, '2'],
      [1, undefined, '3'],
    ]);
  });

  it("gives a late subscriber to a busy room the room's current offset", async () => {
    const first = await gateway.connect();
    await command(first, 'subscribe', { channel: 'ticker', symbol: 'BUSYUSDT' });
    for (let i = 0; i < 5; i++)
      gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol: 'BUSYUSDT', lastPrice: `${i}` });
    const late = await gateway.connect();
    const recorder = new Recorder(late, ['ticker.update']);
    await command(late, 'subscribe', { channel: 'ticker', symbol: 'BUSYUSDT' });
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol: 'BUSYUSDT', lastPrice: '99' });
    await recorder.waitFor('ticker.update', 2);
    expect(
      recorder.payloads('ticker.update').map(({ offset, replay }) => [offset, replay]),
    ).toEqual([
      [5, true],
      [6, undefined],
    ]);
  });

  it('gives a new klines subscriber the current kline of its interval only', async () => {
    const kline = (interval: string, close: string) => ({
      symbol: 'SNAPUSDT',
      interval,
      openTime: 0,
      close,
    });
    gateway.emitter.emit(RealtimeEvent.KlineUpdate, kline('1m', '1'));
    gateway.emitter.emit(RealtimeEvent.KlineUpdate, kline('1m', '2'));
    gateway.emitter.emit(RealtimeEvent.KlineUpdate, kline('5m', '9'));
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['kline.update']);
    await command(socket, 'subscribe', { channel: 'klines', symbol: 'SNAPUSDT', interval: '1m' });
    await roundTrip(socket);
    expect(recorder.payloads('kline.update')).toEqual([
      {
        channel: 'klines',
        event: 'kline.update',
        symbol: 'SNAPUSDT',
        interval: '1m',
        offset: 0,
        epoch: expect.any(String),
        ts: expect.any(Number),
        replay: true,
        data: kline('1m', '2'),
      },
    ]);
  });

  it('gives a new trades subscriber the last 20 trades, oldest first', async () => {
    for (let i = 0; i < 30; i++)
      gateway.emitter.emit(RealtimeEvent.Trade, { symbol: 'SNAPUSDT', tradeId: i });
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade']);
    const answer = await command(socket, 'subscribe', { channel: 'trades', symbol: 'SNAPUSDT' });
    await roundTrip(socket);
    // Trades keep history, so their room's stream counted all 30 though nobody listened.
    expect(answer.position.offset).toBe(30);
    const trades = recorder.payloads('trade');
    expect(trades.map((t) => t.data.tradeId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
    expect(trades.every((t) => t.replay === true && t.offset === 30)).toBe(true);
  });

  it('gives a new ticker:all subscriber every latest ticker at once, and again when they change', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['tickers.update']);
    await command(socket, 'subscribe', { channel: 'ticker', symbol: 'all' });
    const [first] = await recorder.waitFor('tickers.update');
    expect(first.replay).toBe(true);
    const symbols = first.data.tickers.map((t: { symbol: string }) => t.symbol);
    expect(symbols).toEqual(expect.arrayContaining(['SNAPUSDT', 'BUSYUSDT']));
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol: 'SNAPUSDT', lastPrice: '4' });
    const [, next] = await recorder.waitFor('tickers.update', 2, 3000);
    expect(next.replay).toBeUndefined();
    expect(
      next.data.tickers.find((t: { symbol: string }) => t.symbol === 'SNAPUSDT').lastPrice,
    ).toBe('4');
  });

  it('does not accept tickers.update from outside: the gateway builds it', async () => {
    const ingress = await import('#realtime').then(({ EventIngress }) =>
      gateway.app.get(EventIngress),
    );
    const outcome = ingress.accept('http', { event: 'tickers.update', data: { tickers: [] } });
    expect(outcome).toEqual({
      ok: false,
      violation: expect.objectContaining({ code: 'INVALID_PAYLOAD', field: 'event' }),
    });
  });
});

describe('market integrity: ticker conflation', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ tickerConflationMs: 200 });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('delivers the last value of a burst, far fewer messages than the burst, with gap-free offset', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['ticker.update', 'trade']);
    await command(socket, 'subscribe', { channel: 'ticker', symbol: 'CONFUSDT' });
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'CONFUSDT' });
    for (let i = 1; i <= 100; i++)
      gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol: 'CONFUSDT', lastPrice: `${i}` });
    for (let i = 1; i <= 10; i++)
      gateway.emitter.emit(RealtimeEvent.Trade, { symbol: 'CONFUSDT', tradeId: i });
    for (let step = 0; step < 50; step++) {
      await sleep(10);
      gateway.emitter.emit(RealtimeEvent.TickerUpdate, {
        symbol: 'CONFUSDT',
        lastPrice: `${101 + step}`,
      });
    }
    await sleep(450);
    const tickers = recorder.payloads('ticker.update');
    expect(tickers.length).toBeGreaterThanOrEqual(3);
    expect(tickers.length).toBeLessThanOrEqual(8);
    expect(tickers[0].data.lastPrice).toBe('1');
    expect(tickers.at(-1).data.lastPrice).toBe('150');
    expect(tickers.map((t) => t.offset)).toEqual(tickers.map((_, i) => i + 1));
    // Trades are never conflated.
    expect(recorder.payloads('trade').map((t) => t.data.tradeId)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });
});
