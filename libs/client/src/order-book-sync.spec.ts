import { describe, expect, it } from '@jest/globals';
import { OrderBookSequencer } from '../../realtime/src/market/order-book-sequencer.js';
import { OrderBookSync, type OrderBookEnvelope } from './order-book-sync.js';

const books = () => new OrderBookSequencer(100);
const envelope = (event: string, seq: number, data: object, replay?: boolean) =>
  ({ event, seq, data, ...(replay ? { replay } : {}) }) as OrderBookEnvelope;
const snapshotData = {
  symbol: 'ETHUSDT',
  lastUpdateId: 5,
  bids: [['100', '1'] as [string, string]],
  asks: [['101', '2'] as [string, string]],
};

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
    ['a seq gap', (s: object) => envelope('orderbook.update', 5, s), 'seq-gap'],
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
    const gateway = books();
    const reasons: string[] = [];
    const sync = new OrderBookSync('ETHUSDT', Infinity, (why) => reasons.push(why));
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
    expect(sync.apply(next(forwarded))).toBe('stale');
    expect(sync.reason).toBe(reason);
    expect(reasons).toEqual([reason]);
    sync.reset();
    expect(sync.state).toBe('waiting');
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
});
