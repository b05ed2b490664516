import { describe, expect, it } from '@jest/globals';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32 } from './crc32.js';
import { ReferenceBook, randomLevels, seeded } from '../../../../test/support/reference-book.js';
import { OrderBook } from './order-book.js';

describe('crc32', () => {
  it('matches zlib on the checksum alphabet and beyond', () => {
    const random = seeded(1);
    for (let n = 0; n < 200; n++) {
      const text = Array.from({ length: Math.floor(random() * 400) }, () =>
        String.fromCharCode(32 + Math.floor(random() * 95)),
      ).join('');
      expect(crc32(text)).toBe(zlibCrc32(text) >>> 0);
    }
    expect(crc32('')).toBe(0);
  });
});

describe('OrderBook', () => {
  it.each([11, 22, 33, 44])(
    'rebuilds the reference book through random streams (seed %i)',
    (seed) => {
      const random = seeded(seed);
      const book = new OrderBook();
      const reference = new ReferenceBook();
      for (let step = 0; step < 2000; step++) {
        const bids = randomLevels(random, Math.floor(random() * 12), 90, 100);
        const asks = randomLevels(random, Math.floor(random() * 12), 100, 110);
        book.apply(step + 1, bids, asks);
        reference.apply('bids', bids);
        reference.apply('asks', asks);
        if (step % 97 === 0) {
          expect(book.bidLevels()).toEqual(reference.sorted('bids'));
          expect(book.askLevels()).toEqual(reference.sorted('asks'));
        }
        expect(book.checksum()).toBe(reference.checksum());
      }
    },
  );

  it('keeps at most maxDepth levels per side, dropping the worst', () => {
    const book = new OrderBook(3);
    book.reset(
      1,
      [
        ['1', '1'],
        ['4', '1'],
        ['3', '1'],
        ['2', '1'],
      ],
      [
        ['9', '1'],
        ['6', '1'],
        ['7', '1'],
        ['8', '1'],
      ],
    );
    expect(book.bidLevels().map(([p]) => p)).toEqual(['4', '3', '2']);
    expect(book.askLevels().map(([p]) => p)).toEqual(['6', '7', '8']);
  });

  it('keys a level by its value: a second spelling is the same level, under the first spelling', () => {
    const book = new OrderBook();
    book.reset(10, [['65000.5', '1']], [['65001', '1']]);
    const sent = book.apply(11, [['65000.50', '2']], [['065001.0', '4']]);
    expect(sent).toEqual({ bids: [['65000.5', '2']], asks: [['65001', '4']] });
    expect(book.bidLevels()).toEqual([['65000.5', '2']]);
    expect(book.askLevels()).toEqual([['65001', '4']]);
    expect(book.checksum()).toBe(zlibCrc32('65000.5:2:65001:4') >>> 0);
    book.apply(12, [['65000.500', '0']], []);
    expect(book.bidLevels()).toEqual([]);
    // Once removed, the next spelling is the level's new one.
    book.apply(13, [['65000.50', '3']], []);
    expect(book.bidLevels()).toEqual([['65000.50', '3']]);
  });

  it('hands back the very arrays it was given when no price was respelled', () => {
    const book = new OrderBook();
    const bids: [string, string][] = [['10', '1']];
    const asks: [string, string][] = [['11', '1']];
    const sent = book.apply(1, bids, asks);
    expect(sent.bids).toBe(bids);
    expect(sent.asks).toBe(asks);
  });

  it('tells a crossed or locked book from a sound or one-sided one', () => {
    const book = new OrderBook();
    expect(book.crossed).toBe(false);
    book.reset(1, [['10', '1']], []);
    expect(book.crossed).toBe(false);
    book.reset(1, [['10', '1']], [['11', '1']]);
    expect(book.crossed).toBe(false);
    book.reset(1, [['10', '1']], [['10.0', '1']]);
    expect(book.crossed).toBe(true);
    book.reset(1, [['12', '1']], [['11', '1']]);
    expect(book.crossed).toBe(true);
  });

  it('checksums an empty book and a one-sided book', () => {
    const book = new OrderBook();
    expect(book.checksum()).toBe(0);
    book.reset(1, [['10.5', '2']], []);
    expect(book.checksum()).toBe(zlibCrc32('10.5:2') >>> 0);
    book.apply(
      2,
      [],
      [
        ['11', '1'],
        ['12', '3'],
      ],
    );
    expect(book.checksum()).toBe(zlibCrc32('10.5:2:11:1:12:3') >>> 0);
  });
});
