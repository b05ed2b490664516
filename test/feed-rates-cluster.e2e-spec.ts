import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Socket } from 'socket.io-client';
import { MarketState, OrderBook, RealtimeEvent, type BookLevel } from '#realtime/internal';
import { GatewayHarness, command, sleep, until } from './support/gateway-harness.js';
import { freePort } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { ReferenceBook, seeded } from './support/reference-book.js';

const SYMBOL = 'FEEDUSDT';

interface BookMessage {
  event: string;
  data: {
    lastUpdateId: number;
    firstUpdateId?: number;
    bids: BookLevel[];
    asks: BookLevel[];
    checksum: number;
  };
}

/** A raw-protocol client keeping a book of one feed, checking every message it gets. */
class FeedClient {
  readonly book = new OrderBook();
  readonly problems: string[] = [];
  messages = 0;

  constructor(
    readonly socket: Socket,
    readonly depth: number | undefined,
  ) {
    const take = (message: BookMessage) => this.apply(message);
    socket.on('orderbook.snapshot', take);
    socket.on('orderbook.update', take);
  }

  private apply({ event, data }: BookMessage): void {
    this.messages++;
    if (event === 'orderbook.snapshot') this.book.reset(data.lastUpdateId, data.bids, data.asks);
    else {
      if (data.lastUpdateId <= this.book.lastUpdateId) return;
      if (data.firstUpdateId! > this.book.lastUpdateId + 1)
        this.problems.push(`hole before ${data.firstUpdateId} at ${this.book.lastUpdateId}`);
      this.book.apply(data.lastUpdateId, data.bids, data.asks);
    }
    if (this.book.checksum(this.depth) !== data.checksum)
      this.problems.push(`checksum at ${data.lastUpdateId}`);
    const { bids, asks } = this.book.depth;
    if (this.depth !== undefined && (bids > this.depth || asks > this.depth))
      this.problems.push(`${bids}/${asks} levels with depth ${this.depth}`);
  }
}

/**
 * Feeds are made by each instance from the stream every instance receives through Redis:
 * a client on one instance keeps an exact book of events taken in by another, and through a
 * Redis outage its instance keeps feeding it from what it takes in itself.
 */
describe('feed rates on a cluster', () => {
  let redis: RedisServer;
  let a: GatewayHarness;
  let b: GatewayHarness;
  const reference = new ReferenceBook();
  const random = seeded(1703);
  let lastUpdateId = 0;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    redis = new RedisServer(await freePort());
    await redis.start();
    a = await GatewayHarness.start({ instanceId: 'feeds-a' }, { redis: { url: redis.url } });
    b = await GatewayHarness.start({ instanceId: 'feeds-b' }, { redis: { url: redis.url } });
    await bothReady();
  }, 30_000);

  const ready = async (gateway: GatewayHarness) =>
    (await fetch(`${gateway.url}/health/ready`)).status === 200;
  const bothReady = () =>
    until(async () => (await ready(a)) && (await ready(b)), 10_000, 'both instances ready');

  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  function price(low: number): string {
    return (low + Math.floor(random() * 40) / 4).toFixed(2);
  }

  function snapshot(gateway: GatewayHarness): void {
    reference.bids.clear();
    reference.asks.clear();
    const bids: BookLevel[] = Array.from({ length: 30 }, (_, i) => [(99 - i / 4).toFixed(2), '5']);
    const asks: BookLevel[] = Array.from({ length: 30 }, (_, i) => [(100 + i / 4).toFixed(2), '5']);
    reference.apply('bids', bids);
    reference.apply('asks', asks);
    lastUpdateId += 10;
    gateway.emitter.emit(RealtimeEvent.OrderBookSnapshot, {
      symbol: SYMBOL,
      lastUpdateId,
      bids,
      asks,
    });
  }

  async function updates(gateway: GatewayHarness, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const bids: BookLevel[] = [[price(90), random() < 0.3 ? '0' : String(1 + (i % 9))]];
      const asks: BookLevel[] = [[price(100), random() < 0.3 ? '0' : String(1 + (i % 7))]];
      reference.apply('bids', bids);
      reference.apply('asks', asks);
      lastUpdateId++;
      gateway.emitter.emit(RealtimeEvent.OrderBookUpdate, {
        symbol: SYMBOL,
        firstUpdateId: lastUpdateId,
        lastUpdateId,
        bids,
        asks,
      });
      if (i % 10 === 9) await sleep(15);
    }
  }

  async function feedClient(
    gateway: GatewayHarness,
    rate: string,
    depth?: number,
  ): Promise<FeedClient> {
    const socket = await gateway.connect();
    const client = new FeedClient(socket, depth);
    const answer = await command(socket, 'subscribe', {
      channel: 'orderbook',
      symbol: SYMBOL,
      rate,
      ...(depth === undefined ? {} : { depth }),
    });
    expect(answer).toMatchObject({ ok: true, conflated: true });
    return client;
  }

  /** Every client's book, once it reached the last update id, equals the reference (its top). */
  async function expectExact(clients: FeedClient[]): Promise<void> {
    await until(
      () => clients.every((client) => client.book.lastUpdateId === lastUpdateId),
      5000,
      `every feed at update ${lastUpdateId}`,
    );
    for (const client of clients) {
      expect(client.problems).toEqual([]);
      expect(client.book.bidLevels()).toEqual(reference.sorted('bids').slice(0, client.depth));
      expect(client.book.askLevels()).toEqual(reference.sorted('asks').slice(0, client.depth));
    }
  }

  it('feeds clients on every instance exact books of what one instance took in, and through a Redis outage', async () => {
    snapshot(a);
    await until(() => b.app.get(MarketState).orderBookSynced(SYMBOL), 5000, 'the snapshot on b');
    const clients = [
      await feedClient(b, '250ms', 10),
      await feedClient(b, '1000ms'),
      await feedClient(b, 'realtime', 20),
      await feedClient(a, '100ms'),
    ];
    await updates(a, 300);
    await expectExact(clients);
    const slow = clients[1]!;
    // About one message a second, whatever the update rate (the run lasts well under 2 s).
    expect(slow.messages).toBeLessThan(6);

    // Redis away: b positions what it takes in alone and keeps feeding its own clients.
    await redis.stop();
    await updates(b, 200);
    await expectExact(clients.slice(0, 3));
    await redis.start();
    await bothReady();
    // Back: a new exchange snapshot brings every instance's book together again.
    snapshot(b);
    await updates(b, 100);
    await expectExact(clients);
    expect(rejections).toEqual([]);
  }, 60_000);
});
