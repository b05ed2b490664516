import { crc32 } from './crc32.js';

export type BookLevel = [price: string, quantity: string];

/** Levels of the top of each side that the checksum covers. */
export const CHECKSUM_DEPTH = 25;

const ZERO = /^0*\.?0*$/;

/** A kept level: the price spelled as the book first took it, and its quantity. */
interface KeptLevel {
  readonly price: string;
  quantity: string;
}

/**
 * One side of a book: levels keyed by the price's value, so `65000.50` and `65000.5` are
 * one level, kept sorted best first. A level keeps the spelling it was added with until it
 * is removed; `set` answers with that spelling so what is sent on can be spelled the same.
 */
class BookSide {
  private readonly values: number[] = [];
  private readonly levelsByValue = new Map<number, KeptLevel>();

  constructor(private readonly descending: boolean) {}

  get size(): number {
    return this.values.length;
  }

  /** The best price's value, or NaN when the side is empty. */
  get best(): number {
    return this.values.length > 0 ? this.values[0]! : NaN;
  }

  /** Sets or removes the level at `price`'s value; returns the price as the book spells it. */
  set(price: string, quantity: string): string {
    const value = Number(price);
    const kept = this.levelsByValue.get(value);
    if (ZERO.test(quantity)) {
      if (!kept) return price;
      this.levelsByValue.delete(value);
      this.values.splice(this.search(value), 1);
      return kept.price;
    }
    if (kept) {
      kept.quantity = quantity;
      return kept.price;
    }
    this.levelsByValue.set(value, { price, quantity });
    this.values.splice(this.search(value), 0, value);
    return price;
  }

  /** Drops the worst levels beyond `depth`. */
  trim(depth: number): void {
    while (this.values.length > depth) this.levelsByValue.delete(this.values.pop()!);
  }

  clear(): void {
    this.values.length = 0;
    this.levelsByValue.clear();
  }

  level(index: number): KeptLevel | undefined {
    const value = this.values[index];
    return value === undefined ? undefined : this.levelsByValue.get(value);
  }

  levels(limit = Infinity): BookLevel[] {
    const count = Math.min(limit, this.values.length);
    const levels: BookLevel[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const { price, quantity } = this.levelsByValue.get(this.values[i]!)!;
      levels[i] = [price, quantity];
    }
    return levels;
  }

  /**
   * Applies `levels` in order; returns them spelled as the book spells each price, the
   * same array when every spelling already was (the usual case: nothing is copied).
   */
  apply<Levels extends readonly BookLevel[]>(levels: Levels): Levels {
    let spelled: BookLevel[] | undefined;
    for (let i = 0; i < levels.length; i++) {
      const [price, quantity] = levels[i]!;
      const kept = this.set(price, quantity);
      if (kept !== price) {
        spelled ??= levels.slice();
        spelled[i] = [kept, quantity];
      }
    }
    return (spelled ?? levels) as Levels;
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
 * zero quantity removes it. Levels are keyed by their price's value (the catalogue limits
 * prices to 15 significant digits, which doubles hold exactly, so equal values are equal
 * decimals): a second spelling of a live price is the same level and keeps the first
 * spelling, which the checksum covers. The gateway and the client SDK share this class.
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

  /**
   * Applies absolute level changes and moves the book to `lastUpdateId`; returns the
   * changes with each price spelled as the book spells it (the given arrays when all were).
   */
  apply<Levels extends readonly BookLevel[]>(
    lastUpdateId: number,
    bids: Levels,
    asks: Levels,
  ): { bids: Levels; asks: Levels } {
    const spelled = { bids: this.bids.apply(bids), asks: this.asks.apply(asks) };
    this.bids.trim(this.maxDepth);
    this.asks.trim(this.maxDepth);
    this.lastUpdateId = lastUpdateId;
    return spelled;
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

  /** Whether the best bid is at or above the best ask, which no single venue's book can be. */
  get crossed(): boolean {
    return this.bids.best >= this.asks.best;
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
      if (bid) parts.push(bid.price, bid.quantity);
      if (ask) parts.push(ask.price, ask.quantity);
    }
    return crc32(parts.join(':'));
  }
}
