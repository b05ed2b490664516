import { describe, expect, it } from '@jest/globals';
import { OrderBookSequencer } from '../../realtime/src/market/order-book-sequencer.js';
import { OrderBookSync, type OrderBookEnvelope } from './order-book-sync.js';

const EPOCH = 'e1';
const books = () => new OrderBookSequencer(100);
const envelope = (event: string, offset: number, data: object, replay?: boolean, epoch = EPOCH) =>
  ({ event, offset, epoch, data, ...(replay ? { replay } : {}) }) as OrderBookEnvelope;
const snapshotData = {
  symbol: 'ETHUSDT',
  lastUpdateId: 5,
  bids: [['100', '1'] as [string, string]],
  asks: [['101', '2'] as [string, string]],
};

/** A synced book (replayed snapshot at offset 3) and the gateway's next forwarded update. */
function synced(onStale?: (reason: string) => void) {
  const gateway = books();
  const sync = new OrderBookSync('ETHUSDT', Infinity, onStale);
  sync.apply(envelope('orderbook.snapshot', 3, gateway.snapshot(snapshotData as never), true));
  const forwarded = (
    gateway.update({
      symbol: 'ETHUSDT',
      firstUpdateId: 6,
      lastUpdateId: 6,
      bids: [],
      asks: [['101', '0']],
    } as never) as { forward: object }
  ).forward;
  return { gateway, sync, forwarded };
}

describe('OrderBookSync', () => {
  it('syncs from a snapshot and verifies every update', () => {
    const gateway = books();
    const sync = new OrderBookSync('ETHUSDT');
    expect(
      sync.apply(envelope('orderbook.snapshot', 3, gateway.snapshot(snapshotData as never), true)),
    ).toBe('synced');
    const forwarded = gateway.update({
      symbol: 'ETHUSDT',
      firstUpdateId: 6,
      lastUpdateId: 7,
      bids: [['100.5', '3']],
      asks: [],
    } as never);
    expect(
      sync.apply(envelope('orderbook.update', 4, (forwarded as { forward: object }).forward)),
    ).toBe('synced');
    expect(sync.bids()).toEqual([
      ['100.5', '3'],
      ['100', '1'],
    ]);
    expect(sync.asks(1)).toEqual([['101', '2']]);
  });

  it.each([
    ['an offset gap', (s: object) => envelope('orderbook.update', 5, s), 'offset-gap'],
    ['a repeated offset', (s: object) => envelope('orderbook.update', 3, s), 'offset-gap'],
    [
      'a new epoch',
      (s: object) => envelope('orderbook.update', 4, s, false, 'e2'),
      'epoch-changed',
    ],
    [
      'a new epoch even at the next offset of the old one',
      (s: object) => envelope('orderbook.update', 1, s, false, 'e2'),
      'epoch-changed',
    ],
    [
      'an update-id gap',
      (s: object) => envelope('orderbook.update', 4, { ...s, firstUpdateId: 9 }),
      'update-gap',
    ],
    [
      'a wrong checksum',
      (s: object) => envelope('orderbook.update', 4, { ...s, checksum: 1 }),
      'checksum-mismatch',
    ],
  ])('goes stale on %s and says so', (_case, next, reason) => {
    const reasons: string[] = [];
    const { sync, forwarded } = synced((why) => reasons.push(why));
    expect(sync.apply(next(forwarded))).toBe('stale');
    expect(sync.reason).toBe(reason);
    expect(reasons).toEqual([reason]);
    // Stale until reset: further messages change nothing and are not reported again.
    expect(sync.apply(envelope('orderbook.update', 5, forwarded))).toBe('stale');
    expect(reasons).toEqual([reason]);
    sync.reset();
    expect(sync.state).toBe('waiting');
    expect(sync.reason).toBeUndefined();
  });

  it('takes a live snapshot after an offset jump: the gateway held updates back at an upstream hole', () => {
    const { gateway, sync } = synced();
    // Offsets 4 and 5 went to updates the gateway held back; the exchange's next snapshot is 6.
    const next = gateway.snapshot({ ...snapshotData, lastUpdateId: 20 } as never);
    expect(sync.apply(envelope('orderbook.snapshot', 6, next))).toBe('synced');
    const after = gateway.update({
      symbol: 'ETHUSDT',
      firstUpdateId: 21,
      lastUpdateId: 21,
      bids: [['99', '1']],
      asks: [],
    } as never) as { forward: object };
    expect(sync.apply(envelope('orderbook.update', 7, after.forward))).toBe('synced');
    expect(sync.apply(envelope('orderbook.update', 9, after.forward))).toBe('stale');
  });

  it('takes a replayed snapshot of a new epoch after a reset, and follows its offsets', () => {
    const { gateway, sync } = synced();
    sync.reset();
    // After a restart of the room's stream: a replayed snapshot at any position sets it.
    expect(
      sync.apply(
        envelope(
          'orderbook.snapshot',
          0,
          gateway.snapshot({ ...snapshotData, lastUpdateId: 10 } as never),
          true,
          'e2',
        ),
      ),
    ).toBe('synced');
    const next = gateway.update({
      symbol: 'ETHUSDT',
      firstUpdateId: 11,
      lastUpdateId: 11,
      bids: [['99', '4']],
      asks: [],
    } as never) as { forward: object };
    expect(sync.apply(envelope('orderbook.update', 1, next.forward, false, 'e2'))).toBe('synced');
    expect(sync.bids()).toEqual([
      ['100', '1'],
      ['99', '4'],
    ]);
  });

  it('a replayed snapshot sets the position instead of breaking it', () => {
    const { gateway, sync } = synced();
    // Offsets 4..9 went elsewhere (e.g. held back after an upstream hole); a snapshot says where.
    expect(
      sync.apply(
        envelope(
          'orderbook.snapshot',
          9,
          gateway.snapshot({ ...snapshotData, lastUpdateId: 20 } as never),
          true,
        ),
      ),
    ).toBe('synced');
    const next = gateway.update({
      symbol: 'ETHUSDT',
      firstUpdateId: 21,
      lastUpdateId: 21,
      bids: [],
      asks: [],
    } as never) as { forward: object };
    expect(sync.apply(envelope('orderbook.update', 10, next.forward))).toBe('synced');
  });

  it('ignores updates while waiting for a snapshot', () => {
    const sync = new OrderBookSync('ETHUSDT');
    expect(
      sync.apply(
        envelope('orderbook.update', 1, {
          symbol: 'ETHUSDT',
          firstUpdateId: 1,
          lastUpdateId: 1,
          bids: [],
          asks: [],
          checksum: 0,
        }),
      ),
    ).toBe('waiting');
  });

  it("ignores another symbol's messages", () => {
    const { sync, forwarded } = synced();
    expect(sync.apply(envelope('orderbook.update', 99, { ...forwarded, symbol: 'BTCUSDT' }))).toBe(
      'synced',
    );
    expect(sync.apply(envelope('orderbook.update', 4, forwarded))).toBe('synced');
  });
});
