import { describe, expect, it } from '@jest/globals';
import type { Envelope } from '../broadcast/envelope.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeEvent, eventDefinition } from '../events/event-catalogue.js';
import { OrderBookSequencer } from '../market/order-book-sequencer.js';
import { OrderBook, type BookLevel } from '../market/order-book.js';
import { BookFeed } from './book-feed.js';

const snapshot = eventDefinition(RealtimeEvent.OrderBookSnapshot) as CatalogueEvent;
const update = eventDefinition(RealtimeEvent.OrderBookUpdate) as CatalogueEvent;
const SYMBOL = 'BTCUSDT';

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Sent {
  event: string;
  data: {
    lastUpdateId: number;
    firstUpdateId?: number;
    bids: BookLevel[];
    asks: BookLevel[];
    checksum: number;
  };
}

/** A gateway book (through the sequencer, as MarketState keeps it) and one feed of it. */
function setUp(windowMs: number | undefined, depth: number | undefined, maxDepth = 1000) {
  const sequencer = new OrderBookSequencer(maxDepth);
  const sent: Sent[] = [];
  const feed = new BookFeed(
    'orderbook:BTCUSDT|feed',
    windowMs,
    depth,
    {
      symbol: SYMBOL,
      book: () => sequencer.book(SYMBOL),
      synced: () => sequencer.synced(SYMBOL),
      currentState: () => {
        const current = sequencer.current(SYMBOL);
        return current ? [{ definition: snapshot, data: current }] : [];
      },
      snapshot,
      update,
    },
    (_room, _event, body) => sent.push(body as Sent),
  );
  let offset = 0;
  const envelope = () => ({ offset: ++offset, epoch: 'e' }) as Envelope;
  return {
    sequencer,
    sent,
    feed,
    snapshot(lastUpdateId: number, bids: BookLevel[], asks: BookLevel[]) {
      const data = sequencer.snapshot({ symbol: SYMBOL, lastUpdateId, bids, asks });
      feed.take(snapshot, data, envelope());
    },
    update(firstUpdateId: number, lastUpdateId: number, bids: BookLevel[], asks: BookLevel[]) {
      const verdict = sequencer.update({ symbol: SYMBOL, firstUpdateId, lastUpdateId, bids, asks });
      if ('forward' in verdict) feed.take(update, verdict.forward, envelope());
    },
  };
}

/** A subscriber's book, applying what it gets as docs/PROTOCOL.md says. */
function subscriberOf(depth?: number) {
  const book = new OrderBook();
  return {
    book,
    apply(message: Sent) {
      const { data } = message;
      if (!('firstUpdateId' in data)) book.reset(data.lastUpdateId, data.bids, data.asks);
      else {
        if (data.lastUpdateId <= book.lastUpdateId) return;
        expect(data.firstUpdateId).toBeLessThanOrEqual(book.lastUpdateId + 1);
        book.apply(data.lastUpdateId, data.bids, data.asks);
      }
      expect(book.checksum(depth)).toBe(data.checksum);
      if (depth !== undefined) {
        expect(book.depth.bids).toBeLessThanOrEqual(depth);
        expect(book.depth.asks).toBeLessThanOrEqual(depth);
      }
    },
  };
}

function randomLevels(random: () => number, count: number, low: number, high: number) {
  const levels: BookLevel[] = [];
  for (let i = 0; i < count; i++) {
    const price = (low + Math.floor(random() * (high - low) * 2) / 2).toFixed(
      random() < 0.2 ? 2 : 1,
    );
    const quantity = random() < 0.3 ? '0' : (1 + Math.floor(random() * 50)).toString();
    levels.push([price, quantity]);
  }
  return levels;
}

describe('BookFeed', () => {
  it.each([
    [250, undefined, 1000],
    [250, undefined, 30],
    [undefined, 10, 1000],
    [1000, 10, 1000],
    [100, 50, 40],
  ])(
    'keeps every subscriber equal to the gateway book at each message (window %s, depth %s, book depth %s)',
    (windowMs, depth, maxDepth) => {
      const random = seeded(7 + (windowMs ?? 0) + (depth ?? 0));
      const gateway = setUp(windowMs, depth, maxDepth);
      gateway.snapshot(100, randomLevels(random, 40, 90, 100), randomLevels(random, 40, 100, 110));
      const early = subscriberOf(depth);
      for (const { data } of gateway.feed.replay()) early.apply({ event: 's', data } as Sent);
      const late = subscriberOf(depth);
      let id = 100;
      let lateJoined = false;
      let checked = 0;
      for (let step = 0; step < 600; step++) {
        const first = id + 1 - (random() < 0.1 ? 1 : 0);
        id += 1 + Math.floor(random() * 3);
        gateway.update(
          first,
          id,
          randomLevels(random, 4, 90, 100),
          randomLevels(random, 4, 100, 110),
        );
        if (step === 200) {
          // Joins mid-window: starts from its replay, then the feed's next message.
          for (const { data } of gateway.feed.replay()) late.apply({ event: 's', data } as Sent);
          lateJoined = true;
        }
        if (windowMs === undefined || step % 5 === 4) gateway.feed.flush();
        for (const message of gateway.sent.splice(0)) {
          early.apply(message);
          if (lateJoined) late.apply(message);
          checked++;
        }
        if (windowMs === undefined || step % 5 === 4) {
          const book = gateway.sequencer.book(SYMBOL)!;
          for (const subscriber of lateJoined ? [early, late] : [early]) {
            expect(subscriber.book.bidLevels()).toEqual(book.bidLevels(depth));
            expect(subscriber.book.askLevels()).toEqual(book.askLevels(depth));
          }
        }
      }
      expect(checked).toBeGreaterThan(50);
    },
  );

  it('keeps a level that came and went in the window as a removal', () => {
    const gateway = setUp(250, undefined);
    gateway.snapshot(10, [['100', '1']], [['101', '1']]);
    gateway.feed.flush();
    gateway.sent.length = 0;
    gateway.update(11, 11, [['99', '2']], []);
    gateway.update(12, 12, [['99', '0']], []);
    gateway.feed.flush();
    gateway.feed.flush();
    gateway.update(13, 13, [['100', '5']], []);
    gateway.feed.flush();
    expect(gateway.sent.map((m) => m.data)).toMatchObject([
      { firstUpdateId: 11, lastUpdateId: 12, bids: [['99', '0']], asks: [] },
      { firstUpdateId: 13, lastUpdateId: 13, bids: [['100', '5']], asks: [] },
    ]);
  });

  it('removes an old spelling before the new one of the same price', () => {
    const gateway = setUp(250, undefined);
    gateway.snapshot(10, [['100.5', '1']], [['101', '1']]);
    gateway.feed.flush();
    gateway.sent.length = 0;
    gateway.update(11, 11, [['100.5', '0']], []);
    gateway.update(12, 12, [['100.50', '3']], []);
    gateway.feed.flush();
    expect(gateway.sent[0]!.data.bids).toEqual([
      ['100.5', '0'],
      ['100.50', '3'],
    ]);
  });

  it('removes a spelling a book that joined mid-window holds before the last spelling of the window', () => {
    const gateway = setUp(1000, undefined);
    gateway.snapshot(10, [['100', '1']], [['101', '1']]);
    gateway.feed.flush();
    gateway.update(11, 11, [['92.4', '2']], []);
    const late = subscriberOf();
    for (const { data } of gateway.feed.replay()) late.apply({ event: 's', data } as Sent);
    gateway.update(12, 12, [['92.4', '0']], []);
    gateway.update(13, 13, [['92.40', '2']], []);
    gateway.feed.flush();
    for (const message of gateway.sent.splice(1)) late.apply(message);
    expect(late.book.bidLevels()).toEqual(gateway.sequencer.book(SYMBOL)!.bidLevels());
  });

  it('sends a snapshot taken in the window as the book at its end', () => {
    const gateway = setUp(1000, 10);
    gateway.snapshot(10, [['100', '1']], [['101', '1']]);
    gateway.snapshot(50, [['99', '1']], [['102', '1']]);
    gateway.update(51, 51, [['98', '1']], []);
    gateway.feed.flush();
    expect(gateway.sent.map((m) => m.data)).toMatchObject([
      {
        lastUpdateId: 51,
        bids: [
          ['99', '1'],
          ['98', '1'],
        ],
        asks: [['102', '1']],
      },
    ]);
    expect(gateway.sent[0]!.data).not.toHaveProperty('firstUpdateId');
  });

  it('at realtime sends a partial book nothing for changes below its top', () => {
    const gateway = setUp(undefined, 10);
    const bids = Array.from({ length: 12 }, (_, i) => [String(100 - i), '1'] as BookLevel);
    gateway.snapshot(10, bids, [['101', '1']]);
    gateway.sent.length = 0;
    gateway.update(11, 11, [['89', '4']], []);
    expect(gateway.sent).toEqual([]);
    gateway.update(12, 12, [['100', '0']], []);
    expect(gateway.sent.map((m) => m.data)).toMatchObject([
      {
        firstUpdateId: 11,
        lastUpdateId: 12,
        bids: [
          ['100', '0'],
          ['90', '1'],
        ],
        asks: [],
      },
    ]);
  });
});
