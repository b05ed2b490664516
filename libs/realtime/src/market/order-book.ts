import { crc32 } from './crc32.js';

export type BookLevel = [price: string, quantity: string];

/** Levels of the top of each side that the checksum covers. */
export const CHECKSUM_DEPTH = 25;

const ZERO = /^0*\.?0*$/;

/** One side of a book: prices kept sorted best first, quantities by price string. */
class BookSide {
  private readonly prices: string[] = [];
  private readonly values: number[] = [];
  private readonly quantities = new Map<string, string>();

  constructor(private readonly descending: boolean) {}

  get size(): number {
    return this.prices.length;
  }

  set(price: string, quantity: string): void {
    if (ZERO.test(quantity)) {
      if (this.quantities.delete(price)) {
        const at = this.search(Number(price));
        this.prices.splice(at, 1);
        this.values.splice(at, 1);
      }
      return;
    }
    if (!this.quantities.has(price)) {
      const value = Number(price);
      const at = this.search(value);
      this.prices.splice(at, 0, price);
      this.values.splice(at, 0, value);
    }
    this.quantities.set(price, quantity);
  }

  /** Drops the worst levels beyond `depth`. */
  trim(depth: number): void {
    while (this.prices.length > depth) {
      this.quantities.delete(this.prices.pop()!);
      this.values.pop();
    }
  }

  clear(): void {
    this.prices.length = 0;
    this.values.length = 0;
    this.quantities.clear();
  }

  level(index: number): BookLevel | undefined {
    const price = this.prices[index];
    return price === undefined ? undefined : [price, this.quantities.get(price)!];
  }

  levels(limit = Infinity): BookLevel[] {
    const count = Math.min(limit, this.prices.length);
    const levels: BookLevel[] = new Array(count);
    for (let i = 0; i < count; i++)
      levels[i] = [this.prices[i]!, this.quantities.get(this.prices[i]!)!];
    return levels;
  }

  /** Where `value` is, or would go, in best-first order. */
  private search(value: number): number {
    let low = 0;
    let high = this.values.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const better = this.descending ? this.values[mid]! > value : this.values[mid]! < value;
      if (better) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/**
 * An order book of absolute levels: a level's quantity replaces the previous one, and a
 * zero quantity removes it. Levels are keyed by their price string; prices are ordered by
 * value (the catalogue limits them to 15 significant digits, which doubles hold exactly).
 * The gateway and the client SDK share this class, so they agree on every checksum.
 */
export class OrderBook {
  private readonly bids = new BookSide(true);
  private readonly asks = new BookSide(false);
  lastUpdateId = 0;

  /** `maxDepth`: levels kept per side; worse ones are dropped. */
  constructor(private readonly maxDepth = Infinity) {}

  /** Replaces the whole book. */
  reset(lastUpdateId: number, bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    this.bids.clear();
    this.asks.clear();
    this.lastUpdateId = lastUpdateId;
    this.apply(lastUpdateId, bids, asks);
  }

  /** Applies absolute level changes and moves the book to `lastUpdateId`. */
  apply(lastUpdateId: number, bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    for (const [price, quantity] of bids) this.bids.set(price, quantity);
    for (const [price, quantity] of asks) this.asks.set(price, quantity);
    this.bids.trim(this.maxDepth);
    this.asks.trim(this.maxDepth);
    this.lastUpdateId = lastUpdateId;
  }

  bidLevels(limit?: number): BookLevel[] {
    return this.bids.levels(limit);
  }

  askLevels(limit?: number): BookLevel[] {
    return this.asks.levels(limit);
  }

  get depth(): { bids: number; asks: number } {
    return { bids: this.bids.size, asks: this.asks.size };
  }

  /**
   * CRC-32 of the top 25 levels, interleaved `bid1price:bid1qty:ask1price:ask1qty:...`; a side
   * that runs out stops contributing.
   */
  checksum(): number {
    const parts: string[] = [];
    for (let i = 0; i < CHECKSUM_DEPTH; i++) {
      const bid = this.bids.level(i);
      const ask = this.asks.level(i);
      if (!bid && !ask) break;
      if (bid) parts.push(bid[0], bid[1]);
      if (ask) parts.push(ask[0], ask[1]);
    }
    return crc32(parts.join(':'));
  }
}
