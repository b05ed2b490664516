import { describe, expect, it } from '@jest/globals';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32 } from './crc32.js';
import { OrderBook, type BookLevel } from './order-book.js';

/** A deterministic generator, so a failure can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The obvious book: a map per side, sorted only when asked. */
class ReferenceBook {
  bids = new Map<string, string>();
  asks = new Map<string, string>();
  apply(side: 'bids' | 'asks', levels: BookLevel[]): void {
    for (const [price, quantity] of levels) {
      if (Number(quantity) === 0) this[side].delete(price);
      else this[side].set(price, quantity);
    }
  }
  sorted(side: 'bids' | 'asks'): BookLevel[] {
    const direction = side === 'bids' ? -1 : 1;
    return [...this[side]].sort((a, b) => direction * (Number(a[0]) - Number(b[0])));
  }
  checksum(): number {
    const bids = this.sorted('bids');
    const asks = this.sorted('asks');
    const parts: string[] = [];
    for (let i = 0; i < 25; i++) {
      if (bids[i]) parts.push(...bids[i]!);
      if (asks[i]) parts.push(...asks[i]!);
    }
    return zlibCrc32(parts.join(':')) >>> 0;
  }
}

function randomLevels(random: () => number, count: number, low: number, high: number): BookLevel[] {
  return Array.from({ length: count }, () => {
    const price = (low + Math.floor(random() * (high - low)) / 100).toFixed(2);
    const quantity = random() < 0.3 ? (random() < 0.5 ? '0' : '0.000') : (random() * 10).toFixed(3);
    return [price, quantity] as BookLevel;
  });
}

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
