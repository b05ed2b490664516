import { describe, expect, it } from '@jest/globals';
import { OrderBookSequencer } from './order-book-sequencer.js';

const snapshot = (lastUpdateId: number) =>
  ({ symbol: 'BTCUSDT', lastUpdateId, bids: [['10', '1']], asks: [['11', '1']] }) as never;
const update = (firstUpdateId: number, lastUpdateId: number, bid = ['10', '2']) =>
  ({ symbol: 'BTCUSDT', firstUpdateId, lastUpdateId, bids: [bid], asks: [] }) as never;

describe('OrderBookSequencer', () => {
  it('holds back updates before the first snapshot', () => {
    const books = new OrderBookSequencer(100);
    expect(books.update(update(1, 1))).toEqual({ heldBack: 'before-snapshot' });
    expect(books.current('BTCUSDT')).toBeUndefined();
  });

  it('forwards contiguous updates with a checksum, and drops stale ones', () => {
    const books = new OrderBookSequencer(100);
    expect(books.snapshot(snapshot(10))).toMatchObject({
      lastUpdateId: 10,
      checksum: expect.any(Number),
    });
    expect(books.update(update(11, 12))).toEqual({
      forward: expect.objectContaining({ firstUpdateId: 11, lastUpdateId: 12 }),
    });
    expect(books.update(update(11, 12))).toEqual({ heldBack: 'stale' });
    expect(books.update(update(5, 9))).toEqual({ heldBack: 'stale' });
  });

  it('applies an overlapping update and tells clients it starts right after their book', () => {
    const books = new OrderBookSequencer(100);
    books.snapshot(snapshot(10));
    expect(books.update(update(8, 14))).toEqual({
      forward: expect.objectContaining({ firstUpdateId: 11, lastUpdateId: 14 }),
    });
    expect(books.current('BTCUSDT')?.lastUpdateId).toBe(14);
  });

  it('forwards a second spelling of a live price as the book spells it', () => {
    const books = new OrderBookSequencer(100);
    books.snapshot(snapshot(10));
    expect(books.update(update(11, 11, ['10.00', '2']))).toEqual({
      forward: expect.objectContaining({ bids: [['10', '2']] }),
    });
    expect(books.current('BTCUSDT')?.bids).toEqual([['10', '2']]);
  });

  it('says whether a kept book is crossed', () => {
    const books = new OrderBookSequencer(100);
    expect(books.crossed('BTCUSDT')).toBe(false);
    books.snapshot(snapshot(10));
    expect(books.crossed('BTCUSDT')).toBe(false);
    books.update(update(11, 11, ['11.5', '1']));
    expect(books.crossed('BTCUSDT')).toBe(true);
  });

  it('stops at a hole until the next snapshot', () => {
    const books = new OrderBookSequencer(100);
    books.snapshot(snapshot(10));
    expect(books.update(update(12, 12))).toEqual({ heldBack: 'gap' });
    expect(books.update(update(13, 13))).toEqual({ heldBack: 'before-snapshot' });
    expect(books.current('BTCUSDT')).toBeUndefined();
    books.snapshot(snapshot(20));
    expect(books.update(update(21, 21))).toEqual({
      forward: expect.objectContaining({ firstUpdateId: 21 }),
    });
  });
});
