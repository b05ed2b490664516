import { describe, expect, it } from '@jest/globals';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { OrderBookSync, type OrderBookEnvelope, type StaleReason } from './order-book-sync.js';

type Level = [price: string, quantity: string];

/** A deterministic generator, so a failure can be replayed from its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * The exchange's book as the gateway holds it, written here the obvious way (a map per side,
 * sorted when asked, checksum by node:zlib) so the SDK's book and checksum are checked
 * against code they share nothing with.
 */
class Upstream {
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();
  lastUpdateId = 0;

  apply(side: 'bids' | 'asks', levels: readonly Level[]): void {
    for (const [price, quantity] of levels)
      if (Number(quantity) === 0) this[side].delete(price);
      else this[side].set(price, quantity);
  }

  top(side: 'bids' | 'asks', count = Infinity): Level[] {
    const direction = side === 'bids' ? -1 : 1;
    return [...this[side]]
      .sort(([a], [b]) => direction * (Number(a) - Number(b)))
      .slice(0, count) as Level[];
  }

  /** One random exchange update of `count` levels a side (some remove their level). */
  randomUpdate(random: () => number, count: number): { bids: Level[]; asks: Level[] } {
    const levels = (low: number) =>
      Array.from({ length: count }, (): Level => {
        const price = (low + Math.floor(random() * 1000) / 100).toFixed(2);
        return [price, random() < 0.3 ? '0' : (random() * 10 + 0.001).toFixed(3)];
      });
    const update = { bids: levels(90), asks: levels(100) };
    this.apply('bids', update.bids);
    this.apply('asks', update.asks);
    this.lastUpdateId += 1;
    return update;
  }
}

/** CRC-32 over the top `levels` of each side, interleaved, as docs/PROTOCOL.md spells it. */
function checksumOf(bids: readonly Level[], asks: readonly Level[], levels: number): number {
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) {
    if (bids[i]) parts.push(...bids[i]!);
    if (asks[i]) parts.push(...asks[i]!);
  }
  return zlibCrc32(parts.join(':')) >>> 0;
}

/** What turns `before` into `after`: each level that entered or changed, `"0"` for each that left. */
function difference(before: readonly Level[], after: readonly Level[]): Level[] {
  const was = new Map(before);
  const now = new Map(after);
  const levels: Level[] = [];
  for (const [price] of before) if (!now.has(price)) levels.push([price, '0']);
  for (const [price, quantity] of after)
    if (was.get(price) !== quantity) levels.push([price, quantity]);
  return levels;
}

const SYMBOL = 'ETHUSDT';
const EPOCH = 'e1';
const at = (
  event: 'orderbook.snapshot' | 'orderbook.update',
  offset: number,
  data: Omit<OrderBookEnvelope['data'], 'symbol'>,
  replay = false,
  epoch = EPOCH,
): OrderBookEnvelope => ({
  event,
  offset,
  epoch,
  ...(replay ? { replay } : {}),
  data: { symbol: SYMBOL, ...data },
});

/** The gateway's snapshot of `upstream`'s top `depth` (whole book without), checksum over min(depth, 25). */
function snapshotOf(upstream: Upstream, depth = Infinity) {
  const bids = upstream.top('bids', depth);
  const asks = upstream.top('asks', depth);
  const checksum = checksumOf(bids, asks, Math.min(depth, 25));
  return { lastUpdateId: upstream.lastUpdateId, bids, asks, checksum };
}

function seededUpstream(random: () => number, levels: number): Upstream {
  const upstream = new Upstream();
  while (upstream.bids.size < levels || upstream.asks.size < levels)
    upstream.randomUpdate(random, 10);
  return upstream;
}

describe('OrderBookSync: merged updates of a rate feed', () => {
  it('applies window updates that overlap the snapshot, ignores the ones it has, and never checks offsets', () => {
    const random = seeded(17);
    const upstream = seededUpstream(random, 40);
    const sync = new OrderBookSync(SYMBOL, { rate: '250ms' });
    expect(sync.conflated).toBe(true);
    let windowStart = { bids: upstream.top('bids'), asks: upstream.top('asks') };
    let sent = upstream.lastUpdateId;
    let offset = 100;
    // The subscriber joins in the middle of a window: its snapshot already has part of it.
    for (let i = 0; i < 3; i++) upstream.randomUpdate(random, 5);
    offset += 3;
    expect(sync.apply(at('orderbook.snapshot', offset, snapshotOf(upstream), true))).toBe('synced');
    for (let window = 0; window < 40; window++) {
      for (let i = 0; i < 4; i++) upstream.randomUpdate(random, 5);
      offset += 4 + Math.floor(random() * 20);
      const now = { bids: upstream.top('bids'), asks: upstream.top('asks') };
      const update = {
        firstUpdateId: sent + 1,
        lastUpdateId: upstream.lastUpdateId,
        bids: difference(windowStart.bids, now.bids),
        asks: difference(windowStart.asks, now.asks),
        checksum: checksumOf(now.bids, now.asks, 25),
      };
      if (window === 0) expect(update.firstUpdateId).toBeLessThan(sync.book.lastUpdateId + 1);
      expect(sync.apply(at('orderbook.update', offset, update))).toBe('synced');
      // The same window again (or an older one): already in the book, nothing to check.
      expect(sync.apply(at('orderbook.update', offset + 1, { ...update, checksum: 1 }))).toBe(
        'synced',
      );
      windowStart = now;
      sent = upstream.lastUpdateId;
    }
    expect(sync.book.lastUpdateId).toBe(upstream.lastUpdateId);
    expect(sync.bids(Infinity)).toEqual(upstream.top('bids'));
    expect(sync.asks(Infinity)).toEqual(upstream.top('asks'));
  });

  it('goes stale on a hole in the update ids (update-gap), and on a new epoch', () => {
    const upstream = seededUpstream(seeded(3), 5);
    for (const [next, reason] of [
      [
        at('orderbook.update', 50, {
          firstUpdateId: upstream.lastUpdateId + 2,
          lastUpdateId: upstream.lastUpdateId + 3,
          bids: [],
          asks: [],
          checksum: 0,
        }),
        'update-gap',
      ],
      [
        at(
          'orderbook.update',
          4,
          {
            firstUpdateId: upstream.lastUpdateId + 1,
            lastUpdateId: upstream.lastUpdateId + 1,
            bids: [],
            asks: [],
            checksum: snapshotOf(upstream).checksum,
          },
          false,
          'e2',
        ),
        'epoch-changed',
      ],
    ] as const) {
      const reasons: StaleReason[] = [];
      const sync = new OrderBookSync(SYMBOL, { rate: '100ms' }, (why) => reasons.push(why));
      sync.apply(at('orderbook.snapshot', 3, snapshotOf(upstream), true));
      expect(sync.apply(next)).toBe('stale');
      expect(reasons).toEqual([reason]);
    }
  });

  it('still checks offsets on a realtime whole book', () => {
    const upstream = seededUpstream(seeded(4), 5);
    const sync = new OrderBookSync(SYMBOL, { rate: 'realtime' });
    expect(sync.conflated).toBe(false);
    sync.apply(at('orderbook.snapshot', 3, snapshotOf(upstream), true));
    const before = snapshotOf(upstream);
    upstream.randomUpdate(seeded(5), 3);
    const after = snapshotOf(upstream);
    const update = {
      firstUpdateId: before.lastUpdateId + 1,
      lastUpdateId: after.lastUpdateId,
      bids: difference(before.bids, after.bids),
      asks: difference(before.asks, after.asks),
      checksum: after.checksum,
    };
    expect(sync.apply(at('orderbook.update', 5, update))).toBe('stale');
    expect(sync.reason).toBe('offset-gap');
  });

  it('goes stale on a wrong checksum', () => {
    const upstream = seededUpstream(seeded(6), 5);
    const sync = new OrderBookSync(SYMBOL, { rate: '1000ms' });
    sync.apply(at('orderbook.snapshot', 3, snapshotOf(upstream), true));
    const update = {
      firstUpdateId: upstream.lastUpdateId + 1,
      lastUpdateId: upstream.lastUpdateId + 1,
      bids: [['1', '1']] as Level[],
      asks: [],
      checksum: snapshotOf(upstream).checksum,
    };
    expect(sync.apply(at('orderbook.update', 9, update))).toBe('stale');
    expect(sync.reason).toBe('checksum-mismatch');
  });
});

describe('OrderBookSync: partial books (depth N)', () => {
  it.each([
    [10, 'realtime'],
    [20, '250ms'],
    [50, '100ms'],
  ] as const)(
    'depth %i at %s: holds exactly the top N through removals, checksum over min(N, 25)',
    (depth, rate) => {
      const random = seeded(depth);
      const upstream = seededUpstream(random, depth + 30);
      const sync = new OrderBookSync(SYMBOL, { rate, depth });
      expect(sync.conflated).toBe(true);
      let offset = 7;
      let previous = snapshotOf(upstream, depth);
      expect(sync.apply(at('orderbook.snapshot', offset, previous, true))).toBe('synced');
      let removalsInTop = 0;
      for (let step = 0; step < 300; step++) {
        if (step % 25 === 0) {
          // The best levels cleared out: the ones below move up into the top N.
          upstream.apply(
            'bids',
            upstream.top('bids', 3).map(([price]): Level => [price, '0']),
          );
          upstream.lastUpdateId += 1;
        } else upstream.randomUpdate(random, 6);
        const now = snapshotOf(upstream, depth);
        const bids = difference(previous.bids, now.bids);
        const asks = difference(previous.asks, now.asks);
        if (bids.length === 0 && asks.length === 0) continue; // the top N did not change
        removalsInTop += [...bids, ...asks].filter(([, q]) => q === '0').length;
        offset += 1 + Math.floor(random() * 5);
        const message = {
          firstUpdateId: previous.lastUpdateId + 1,
          lastUpdateId: now.lastUpdateId,
          bids,
          asks,
          checksum: now.checksum,
        };
        expect(sync.apply(at('orderbook.update', offset, message))).toBe('synced');
        expect(sync.book.depth.bids).toBeLessThanOrEqual(depth);
        expect(sync.book.depth.asks).toBeLessThanOrEqual(depth);
        previous = now;
      }
      expect(removalsInTop).toBeGreaterThan(0);
      expect(sync.bids(Infinity)).toEqual(upstream.top('bids', depth));
      expect(sync.asks(Infinity)).toEqual(upstream.top('asks', depth));
      expect(sync.checksum()).toBe(
        checksumOf(upstream.top('bids'), upstream.top('asks'), Math.min(depth, 25)),
      );
    },
  );

  it('a depth-50 book checks its top 25 levels, not all 50', () => {
    const upstream = seededUpstream(seeded(50), 60);
    const bids = upstream.top('bids', 50);
    const asks = upstream.top('asks', 50);
    const over = (levels: number) => ({
      lastUpdateId: upstream.lastUpdateId,
      bids,
      asks,
      checksum: checksumOf(bids, asks, levels),
    });
    expect(
      new OrderBookSync(SYMBOL, { depth: 50 }).apply(at('orderbook.snapshot', 1, over(25), true)),
    ).toBe('synced');
    const all = new OrderBookSync(SYMBOL, { depth: 50 });
    expect(all.apply(at('orderbook.snapshot', 1, over(50), true))).toBe('stale');
    expect(all.reason).toBe('checksum-mismatch');
  });

  it('goes stale (depth-exceeded) when an update leaves more than N levels on a side', () => {
    const upstream = seededUpstream(seeded(11), 20);
    const reasons: StaleReason[] = [];
    const sync = new OrderBookSync(SYMBOL, { depth: 10 }, (why) => reasons.push(why));
    const snapshot = snapshotOf(upstream, 10);
    sync.apply(at('orderbook.snapshot', 1, snapshot, true));
    // A new best bid without the "0" for the level it pushed out of the top 10.
    const best: Level = [(Number(snapshot.bids[0]![0]) + 1).toFixed(2), '1.000'];
    const bids = [best, ...snapshot.bids];
    const message = {
      firstUpdateId: snapshot.lastUpdateId + 1,
      lastUpdateId: snapshot.lastUpdateId + 1,
      bids: [best],
      asks: [],
      checksum: checksumOf(bids, snapshot.asks, 10),
    };
    expect(sync.apply(at('orderbook.update', 2, message))).toBe('stale');
    expect(reasons).toEqual(['depth-exceeded']);
  });

  it('goes stale on a wrong checksum', () => {
    const upstream = seededUpstream(seeded(12), 20);
    const sync = new OrderBookSync(SYMBOL, { depth: 20, rate: '250ms' });
    sync.apply(at('orderbook.snapshot', 1, snapshotOf(upstream, 20), true));
    const last = upstream.top('asks', 20).at(-1)!;
    const message = {
      firstUpdateId: upstream.lastUpdateId + 1,
      lastUpdateId: upstream.lastUpdateId + 1,
      bids: [],
      asks: [[last[0], '99.999']] as Level[],
      checksum: snapshotOf(upstream, 20).checksum,
    };
    expect(sync.apply(at('orderbook.update', 9, message))).toBe('stale');
    expect(sync.reason).toBe('checksum-mismatch');
  });
});

describe('OrderBookSync.switchFeed', () => {
  it('starts over for another feed, and changes nothing for the same one', () => {
    const upstream = seededUpstream(seeded(21), 30);
    const sync = new OrderBookSync(SYMBOL, 1000);
    expect([sync.rate, sync.depth, sync.conflated]).toEqual(['realtime', undefined, false]);
    sync.apply(at('orderbook.snapshot', 1, snapshotOf(upstream), true));
    expect(sync.switchFeed({ rate: 'realtime' })).toBe(false);
    expect(sync.state).toBe('synced');
    expect(sync.switchFeed({ rate: '1000ms', depth: 20 })).toBe(true);
    expect([sync.rate, sync.depth, sync.conflated, sync.state]).toEqual([
      '1000ms',
      20,
      true,
      'waiting',
    ]);
    expect(sync.bids(Infinity)).toEqual([]);
    expect(sync.apply(at('orderbook.snapshot', 90, snapshotOf(upstream, 20), true))).toBe('synced');
    expect(sync.switchFeed({ rate: '1000ms', depth: 20 })).toBe(false);
    expect(sync.switchFeed({})).toBe(true);
    expect([sync.rate, sync.depth, sync.conflated]).toEqual(['realtime', undefined, false]);
  });
});
