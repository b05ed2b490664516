import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeEvent } from '#realtime/internal';
import {
  RealtimeClient,
  type Gap,
  type OrderBookSync,
  type OrderBookSyncState,
} from '../libs/client/src/index.js';
import { MarketState } from '../libs/realtime/src/market/market-state.service.js';
import { OrderBook, type BookLevel } from '../libs/realtime/src/market/order-book.js';
import { GatewayHarness, sleep, until } from './support/gateway-harness.js';
import { ReferenceBook, randomLevels, seeded } from './support/reference-book.js';

/**
 * The client SDK on feed rates and partial books (issue 17), against the real gateway: books
 * that stay verified at a rate and a depth and through a switch, and offsets that jump on
 * conflated feeds without a gap while trades at a rate still arrive every one. The order
 * books come from a seeded generator: CLIENT_FEEDS_SEED=<seed> replays a run.
 */
const SEED = Number(process.env.CLIENT_FEEDS_SEED ?? Math.floor(Math.random() * 2 ** 31));

const clients: RealtimeClient[] = [];
const gateways: GatewayHarness[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const gateway of gateways.splice(0)) await gateway.stop();
});

async function gateway(): Promise<GatewayHarness> {
  const started = await GatewayHarness.start();
  gateways.push(started);
  return started;
}

async function connectedClient(
  server: GatewayHarness,
  options: Partial<ConstructorParameters<typeof RealtimeClient>[0]> = {},
): Promise<RealtimeClient> {
  const created = new RealtimeClient({ url: server.url, ...options });
  clients.push(created);
  await until(() => created.state.value === 'connected', 5000, 'connected');
  return created;
}

interface SocketInside {
  socket: {
    onAny(listener: (event: string, ...args: any[]) => void): void;
    onAnyOutgoing(listener: (event: string, ...args: any[]) => void): void;
    io: { engine: { close(): void } };
  };
}
const socketOf = (sdk: RealtimeClient) => (sdk as unknown as SocketInside).socket;

/** Every command the client sends, in order. */
function sentCommands(sdk: RealtimeClient): Array<{ event: string; payload: any }> {
  const sent: Array<{ event: string; payload: any }> = [];
  socketOf(sdk).onAnyOutgoing((event, payload) => sent.push({ event, payload }));
  return sent;
}

/**
 * The book's state after every order-book message (handlers run in the order they were added,
 * so these run after the book took the message), and every gap the client told.
 */
function watch(sdk: RealtimeClient, book: OrderBookSync) {
  const states: OrderBookSyncState[] = [];
  const updates: number[] = [];
  const gaps: Gap[] = [];
  sdk.on('orderbook.snapshot', () => states.push(book.state));
  sdk.on('orderbook.update', (envelope) => {
    states.push(book.state);
    updates.push(envelope.offset);
  });
  sdk.onGap((gap) => gaps.push(gap));
  return { states, updates, gaps };
}

/**
 * The exchange: publishes a snapshot and random updates through the gateway's emitter, and
 * keeps the same book twice, with the shared OrderBook class and with the independent
 * ReferenceBook of the test support.
 */
class Exchange {
  readonly book = new OrderBook();
  readonly independent = new ReferenceBook();
  lastUpdateId = 1;
  readonly random = seeded(SEED);

  constructor(
    private readonly server: GatewayHarness,
    readonly symbol: string,
  ) {}

  snapshot(bidRange: [number, number] = [90, 100], askRange: [number, number] = [100, 110]): void {
    const bids = randomLevels(this.random, 60, ...bidRange).filter(([, q]) => Number(q) > 0);
    const asks = randomLevels(this.random, 60, ...askRange).filter(([, q]) => Number(q) > 0);
    this.book.reset(this.lastUpdateId, bids, asks);
    this.independent.apply('bids', bids);
    this.independent.apply('asks', asks);
    this.server.emitter.emit(RealtimeEvent.OrderBookSnapshot, {
      symbol: this.symbol,
      lastUpdateId: this.lastUpdateId,
      bids,
      asks,
    });
  }

  /** One update spanning 1 to 3 exchange update ids; random levels unless given. */
  update(
    bids = randomLevels(this.random, 5, 90, 100),
    asks = randomLevels(this.random, 5, 100, 110),
  ): void {
    const firstUpdateId = this.lastUpdateId + 1;
    this.lastUpdateId += 1 + Math.floor(this.random() * 3);
    this.book.apply(this.lastUpdateId, bids, asks);
    this.independent.apply('bids', bids);
    this.independent.apply('asks', asks);
    this.server.emitter.emit(RealtimeEvent.OrderBookUpdate, {
      symbol: this.symbol,
      firstUpdateId,
      lastUpdateId: this.lastUpdateId,
      bids,
      asks,
    });
  }

  /** `count` updates, `perRound` at a time with a pause between, so they span several windows. */
  async updates(count: number, perRound = 10, pauseMs = 50): Promise<void> {
    for (let sent = 0; sent < count; sent += perRound) {
      for (let i = 0; i < Math.min(perRound, count - sent); i++) this.update();
      await sleep(pauseMs);
    }
  }

  top(side: 'bids' | 'asks', depth = Infinity): BookLevel[] {
    return side === 'bids' ? this.book.bidLevels(depth) : this.book.askLevels(depth);
  }
}

/** The gateway's own kept book of `symbol`. */
function gatewayBook(server: GatewayHarness, symbol: string): OrderBook {
  return server.app.get(MarketState).orderBook(symbol)!;
}

const sameLevels = (a: readonly BookLevel[], b: readonly BookLevel[]) =>
  JSON.stringify(a) === JSON.stringify(b);

/** Waits until `book` holds exactly `exchange`'s top `depth` (the whole book without). */
async function untilEqual(book: OrderBookSync, exchange: Exchange, depth?: number) {
  await until(
    () =>
      book.state === 'synced' &&
      sameLevels(book.bids(Infinity), exchange.top('bids', depth)) &&
      sameLevels(book.asks(Infinity), exchange.top('asks', depth)),
    4000,
    `the book to equal the exchange's ${depth === undefined ? 'whole book' : `top ${depth}`} (seed ${SEED})`,
  );
}

describe('client SDK on feed rates and partial books, against the real gateway', () => {
  it('keeps orderBook at 250ms, depth 10 synced through 300 random updates, ending at the gateway top 10', async () => {
    const server = await gateway();
    const sdk = await connectedClient(server);
    const sent = sentCommands(sdk);
    const exchange = new Exchange(server, 'FEEDTENUSDT');
    exchange.snapshot();
    const book = sdk.orderBook(exchange.symbol, { rate: '250ms', depth: 10 });
    expect([book.rate, book.depth, book.conflated]).toEqual(['250ms', 10, true]);
    const { states, updates, gaps } = watch(sdk, book);
    await until(() => book.state === 'synced', 3000, 'the snapshot');
    expect(book.book.depth).toEqual({ bids: 10, asks: 10 });

    await exchange.updates(300);
    await untilEqual(book, exchange, 10);
    const kept = gatewayBook(server, exchange.symbol);
    expect(book.bids(Infinity)).toEqual(kept.bidLevels(10));
    expect(book.asks(Infinity)).toEqual(kept.askLevels(10));
    expect(book.bids(Infinity)).toEqual(exchange.independent.sorted('bids').slice(0, 10));
    expect(book.asks(Infinity)).toEqual(exchange.independent.sorted('asks').slice(0, 10));
    expect(book.checksum()).toBe(kept.checksum(10));

    // Never stale (a level too many, a wrong checksum, a hole in the update ids), never a
    // resubscribe, no gap told, though the feed sent fewer messages than the exchange did
    // and their offsets jumped.
    expect(states).not.toContain('stale');
    expect(sent.filter(({ event }) => event.includes('subscribe'))).toEqual([
      {
        event: 'subscribe',
        payload: { channel: 'orderbook', symbol: exchange.symbol, rate: '250ms', depth: 10 },
      },
    ]);
    expect(gaps).toEqual([]);
    expect(updates.length).toBeGreaterThan(3);
    expect(updates.length).toBeLessThan(300);
    expect(updates.some((offset, i) => i > 0 && offset - updates[i - 1]! > 1)).toBe(true);
  }, 30_000);

  it("switches a book's feed with orderBook(symbol, { rate: '1000ms' }) under traffic, stays synced, and resubscribes at that feed after a reconnect", async () => {
    const server = await gateway();
    const sdk = await connectedClient(server);
    const sent = sentCommands(sdk);
    const exchange = new Exchange(server, 'FEEDSWITCHUSDT');
    exchange.snapshot();
    const book = sdk.orderBook(exchange.symbol, { rate: '250ms', depth: 10 });
    const { states, gaps } = watch(sdk, book);
    await exchange.updates(50);
    await untilEqual(book, exchange, 10);

    // The switch goes out while updates keep coming.
    const traffic = exchange.updates(100, 5, 25);
    expect(sdk.orderBook(exchange.symbol, { rate: '1000ms' })).toBe(book);
    await traffic;
    await until(() => book.rate === '1000ms', 3000, 'the switch');
    expect([book.depth, book.conflated]).toEqual([undefined, true]);
    await untilEqual(book, exchange);
    await until(() => book.book.lastUpdateId === exchange.lastUpdateId, 3000, 'the last update id');
    expect(book.bids(Infinity)).toEqual(gatewayBook(server, exchange.symbol).bidLevels());
    expect(book.asks(Infinity)).toEqual(gatewayBook(server, exchange.symbol).askLevels());
    // Calling it again with the feed it has, or with no feed at all, sends nothing.
    expect(sdk.orderBook(exchange.symbol, { rate: '1000ms' })).toBe(book);
    expect(sdk.orderBook(exchange.symbol)).toBe(book);
    expect(sent.filter(({ event }) => event.includes('subscribe'))).toEqual([
      {
        event: 'subscribe',
        payload: { channel: 'orderbook', symbol: exchange.symbol, rate: '250ms', depth: 10 },
      },
      {
        event: 'subscribe',
        payload: { channel: 'orderbook', symbol: exchange.symbol, rate: '1000ms' },
      },
    ]);
    expect(states).not.toContain('stale');
    expect(gaps).toEqual([]);

    // A reconnect makes the newest subscription again, at its rate.
    let resubscribed = 0;
    sdk.onResubscribed(() => resubscribed++);
    socketOf(sdk).io.engine.close();
    await until(() => resubscribed === 1, 10_000, 'the resubscription');
    expect(sent.at(-1)).toEqual({
      event: 'subscribe',
      payload: {
        channel: 'orderbook',
        symbol: exchange.symbol,
        rate: '1000ms',
        since: { offset: expect.any(Number), epoch: expect.any(String) },
      },
    });
    await exchange.updates(30);
    await untilEqual(book, exchange);
    expect(book.rate).toBe('1000ms');
    expect(states).not.toContain('stale');
    expect(gaps).toEqual([]);
  }, 40_000);

  it("switches a book back from a rate to the room's own feed: same stream, every update, offsets checked again", async () => {
    const server = await gateway();
    const sdk = await connectedClient(server);
    const exchange = new Exchange(server, 'FEEDBACKUSDT');
    exchange.snapshot();
    const book = sdk.orderBook(exchange.symbol, { rate: '1000ms' });
    const { states, gaps } = watch(sdk, book);
    const resets: string[] = [];
    sdk.onRecovery((recovery) => resets.push(`${recovery.cause} ${recovery.reason}`));
    await exchange.updates(30);
    await untilEqual(book, exchange);
    sdk.orderBook(exchange.symbol, {});
    await until(() => book.rate === 'realtime' && book.state === 'synced', 3000, 'realtime');
    expect(book.conflated).toBe(false);
    await exchange.updates(30);
    await untilEqual(book, exchange);
    await until(() => book.book.lastUpdateId === exchange.lastUpdateId, 3000, 'every update');
    // The switch must not restart the room's stream (a new epoch: the book resyncs).
    expect(resets).toEqual([]);
    expect(states).not.toContain('stale');
    expect(gaps).toEqual([]);
  }, 20_000);

  it('a book that joins a 1000ms feed mid-window stays synced when a level comes and goes within that window', async () => {
    const server = await gateway();
    const early = await connectedClient(server);
    const late = await connectedClient(server);
    const exchange = new Exchange(server, 'FEEDJOINUSDT');
    // Bids below 99 and asks from 101: room for a new best bid at 99.50.
    exchange.snapshot([90, 99], [101, 110]);
    const first = early.orderBook(exchange.symbol, { rate: '1000ms' });
    await until(() => first.state === 'synced', 3000, 'the first snapshot');
    // A window ends: the first book has this update just after the feed's clock ticked
    // (its levels below 99.50, which must be the best bid next).
    exchange.update(
      randomLevels(exchange.random, 5, 90, 99),
      randomLevels(exchange.random, 5, 101, 110),
    );
    await until(
      () => first.book.lastUpdateId === exchange.lastUpdateId,
      3000,
      'the window with the first update',
    );
    // Early in the next window: a new best bid, a subscriber that joins with it in its
    // snapshot, and the bid gone again before the window ends.
    exchange.update([['99.50', '1.000']], []);
    const second = late.orderBook(exchange.symbol, { rate: '1000ms' });
    const { states } = watch(late, second);
    await until(() => second.state === 'synced', 3000, 'the second snapshot');
    expect(second.bids(1)).toEqual([['99.50', '1.000']]);
    exchange.update([['99.50', '0']], []);
    await until(
      () => first.book.lastUpdateId === exchange.lastUpdateId,
      3000,
      'the window with the bid gone',
    );
    await until(() => states.length >= 2, 3000, 'the second book to take that window');
    expect(states).not.toContain('stale');
    expect(second.bids(Infinity)).toEqual(exchange.top('bids'));
  }, 20_000);

  it('gives no gap for a ticker at 1000ms though its offsets jump, and ends at the latest ticker', async () => {
    const server = await gateway();
    const sdk = await connectedClient(server);
    const symbol = 'FEEDTICKUSDT';
    const subscription = { channel: 'ticker', symbol, rate: '1000ms' } as const;
    expect(await sdk.subscribe(subscription)).toEqual({
      ok: true,
      channel: 'ticker',
      symbol,
      rate: '1000ms',
      position: { offset: expect.any(Number), epoch: expect.any(String) },
      conflated: true,
    });
    const gaps: Gap[] = [];
    sdk.onGap((gap) => gaps.push(gap));
    const received: Array<{ offset: number; price: string }> = [];
    sdk.on('ticker.update', (envelope) => {
      if (!envelope.replay)
        received.push({ offset: envelope.offset, price: envelope.data.lastPrice as string });
    });
    const publish = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        server.emitter.emit(RealtimeEvent.TickerUpdate, { symbol, lastPrice: `${i}` });
        await sleep(40);
      }
    };
    await publish(1, 60);
    await until(() => received.at(-1)?.price === '60', 3000, 'the latest ticker');
    expect(received.length).toBeGreaterThan(1);
    expect(received.length).toBeLessThan(15);
    const offsets = received.map(({ offset }) => offset);
    expect(offsets.every((offset, i) => i === 0 || offset > offsets[i - 1]!)).toBe(true);
    expect(offsets.some((offset, i) => i > 0 && offset - offsets[i - 1]! > 1)).toBe(true);
    // Newer prices only: the latest of each window.
    const prices = received.map(({ price }) => Number(price));
    expect(prices.every((price, i) => i === 0 || price > prices[i - 1]!)).toBe(true);
    expect(gaps).toEqual([]);
    expect(sdk.position(subscription)?.offset).toBe(offsets.at(-1));

    // The same feed again is answered without a position: still conflated, still no gap.
    expect(await sdk.subscribe(subscription)).toEqual({
      ok: true,
      channel: 'ticker',
      symbol,
      rate: '1000ms',
    });
    await publish(61, 90);
    await until(() => received.at(-1)?.price === '90', 3000, 'the latest ticker again');
    expect(gaps).toEqual([]);

    // A switch the gateway refuses leaves the subscription as it was, position and all.
    await expect(sdk.subscribe({ ...subscription, rate: '5s' as never })).rejects.toMatchObject({
      code: 'INVALID_PAYLOAD',
    });
    expect(sdk.position(subscription)?.offset).toBe(received.at(-1)!.offset);
    await publish(91, 110);
    await until(() => received.at(-1)?.price === '110', 3000, 'the ticker after the refusal');
    expect(gaps).toEqual([]);
  }, 20_000);

  it('delivers every trade at 250ms, in order, with contiguous offsets, in batches, with or without batching', async () => {
    const server = await gateway();
    const symbol = 'FEEDTRADEUSDT';
    const subscription = { channel: 'trades', symbol, rate: '250ms' } as const;
    const runs: Array<{ tradeIds: number[]; offsets: number[]; frames: number; gaps: Gap[] }> = [];
    for (const batching of [true, false]) {
      const sdk = await connectedClient(server, { batching });
      const answer = await sdk.subscribe(subscription);
      expect(answer).toMatchObject({ ok: true, channel: 'trades', symbol, rate: '250ms' });
      expect(answer).not.toHaveProperty('conflated');
      const run = {
        tradeIds: [] as number[],
        offsets: [] as number[],
        frames: 0,
        gaps: [] as Gap[],
      };
      sdk.on('trade', (envelope) => {
        if (envelope.replay) return;
        run.tradeIds.push(envelope.data.tradeId as number);
        run.offsets.push(envelope.offset);
      });
      sdk.onGap((gap) => run.gaps.push(gap));
      socketOf(sdk).onAny((event) => void (event === 'batch' && run.frames++));
      runs.push(run);
    }
    const count = 400;
    for (let tradeId = 1; tradeId <= count; tradeId++) {
      server.emitter.emit(RealtimeEvent.Trade, { symbol, tradeId, price: '1', quantity: '1' });
      if (tradeId % 20 === 0) await sleep(40);
    }
    await until(
      () => runs.every(({ tradeIds }) => tradeIds.length >= count),
      5000,
      'every trade on both clients',
    );
    await sleep(300);
    for (const run of runs) {
      expect(run.tradeIds).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(run.offsets.every((offset, i) => i === 0 || offset === run.offsets[i - 1]! + 1)).toBe(
        true,
      );
      expect(run.gaps).toEqual([]);
      // About one batch per window (at most 100 trades each), never one frame per trade.
      expect(run.frames).toBeGreaterThanOrEqual(count / 100);
      expect(run.frames).toBeLessThan(20);
    }
  }, 20_000);
});
