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

/** A level a side changed: what it held there before the first change, and its last spelling. */
export interface ChangedLevel {
  /** The level before its first change; null when there was none. */
  readonly before: BookLevel | null;
  /** The price as the side last spelled it. */
  price: string;
  /** The spellings of the levels removed there in between, each once, if any were. */
  removed?: string[];
}

/**
 * The levels of one side that changed since it was last cleared, by price value. A feed
 * that sends one merged update per window keeps one per side (see `OrderBook.track`).
 */
export type SideChanges = Map<number, ChangedLevel>;

/**
 * One side of a book: levels keyed by the price's value, so `65000.50` and `65000.5` are
 * one level, kept sorted best first. A level keeps the spelling it was added with until it
 * is removed; `set` answers with that spelling so what is sent on can be spelled the same.
 */
class BookSide {
  private readonly values: number[] = [];
  private readonly levelsByValue = new Map<number, KeptLevel>();
  /** Changes recorded for merged feeds; empty, as it nearly always is, it costs one check. */
  readonly trackers: SideChanges[] = [];

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
    const removing = ZERO.test(quantity);
    if (this.trackers.length > 0) this.record(value, kept, price, removing);
    if (removing) {
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
    while (this.values.length > depth) {
      const value = this.values.pop()!;
      const kept = this.levelsByValue.get(value)!;
      if (this.trackers.length > 0) this.record(value, kept, kept.price, true);
      this.levelsByValue.delete(value);
    }
  }

  /**
   * Every level changed since `changes` began, at its state now: its absolute quantity, or
   * `"0"` when it is gone (also when it came and went in between: a book that joined then
   * may hold it). A price spelled anew comes as a `"0"` for each spelling it had first.
   * Applied to any book this side was in since `changes` began, it gives this side.
   */
  changedSince(changes: SideChanges): BookLevel[] {
    const levels: BookLevel[] = [];
    for (const [value, { before, price, removed }] of changes) {
      const now = this.levelsByValue.get(value);
      // Whichever spelling a book holds (the window's first, or one that a book which joined
      // in between got), its removal comes first, so books keyed by the price's string end
      // the same as books keyed by its value.
      const first = before?.[0];
      if (first !== undefined && first !== now?.price) levels.push([first, '0']);
      if (removed)
        for (const spelling of removed)
          if (spelling !== first && spelling !== now?.price) levels.push([spelling, '0']);
      if (now) levels.push([now.price, now.quantity]);
      else if (first === undefined && !removed) levels.push([price, '0']);
    }
    return levels;
  }

  private record(
    value: number,
    kept: KeptLevel | undefined,
    price: string,
    removing: boolean,
  ): void {
    const spelled = kept ? kept.price : price;
    for (const changes of this.trackers) {
      let changed = changes.get(value);
      if (changed) changed.price = spelled;
      else {
        changed = { before: kept ? [kept.price, kept.quantity] : null, price: spelled };
        changes.set(value, changed);
      }
      if (removing && kept) {
        const removed = (changed.removed ??= []);
        if (!removed.includes(kept.price)) removed.push(kept.price);
      }
    }
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
    // A new book is no change of the old one: merged feeds send it whole (they are told).
    const bidTrackers = this.bids.trackers.splice(0);
    const askTrackers = this.asks.trackers.splice(0);
    this.bids.clear();
    this.asks.clear();
    this.lastUpdateId = lastUpdateId;
    this.apply(lastUpdateId, bids, asks);
    this.bids.trackers.push(...bidTrackers);
    this.asks.trackers.push(...askTrackers);
  }

  /** Records, from now on, every level change into `changes` (one map per side). */
  track(changes: BookChanges): void {
    this.bids.trackers.push(changes.bids);
    this.asks.trackers.push(changes.asks);
  }

  untrack(changes: BookChanges): void {
    remove(this.bids.trackers, changes.bids);
    remove(this.asks.trackers, changes.asks);
  }

  /** One update that turns the book `changes` recorded into this book; see `BookSide.changedSince`. */
  changedSince(changes: BookChanges): { bids: BookLevel[]; asks: BookLevel[] } {
    return {
      bids: this.bids.changedSince(changes.bids),
      asks: this.asks.changedSince(changes.asks),
    };
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
   * CRC-32 of the top 25 levels (or of the top `levels`, when fewer: a partial book's),
   * interleaved `bid1price:bid1qty:ask1price:ask1qty:...`; a side that runs out stops
   * contributing.
   */
  checksum(levels: number = CHECKSUM_DEPTH): number {
    const parts: string[] = [];
    const count = Math.min(levels, CHECKSUM_DEPTH);
    for (let i = 0; i < count; i++) {
      const bid = this.bids.level(i);
      const ask = this.asks.level(i);
      if (!bid && !ask) break;
      if (bid) parts.push(bid.price, bid.quantity);
      if (ask) parts.push(ask.price, ask.quantity);
    }
    return crc32(parts.join(':'));
  }
}

/** The levels changed since a point, one map per side (see `OrderBook.track`). */
export class BookChanges {
  readonly bids: SideChanges = new Map();
  readonly asks: SideChanges = new Map();

  get size(): number {
    return this.bids.size + this.asks.size;
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }
}

function remove<T>(items: T[], item: T): void {
  const index = items.indexOf(item);
  if (index >= 0) items.splice(index, 1);
}
