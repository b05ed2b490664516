import type { Level } from './reference-book.js';
import type { ReferenceBookHistory, UpstreamBookEvent } from './reference-book-history.js';
import { spellingsOf } from './value-reference-book.js';

/** Quantities from a small set, so that a level often goes back to a quantity it had. */
const QUANTITIES = ['1', '2', '3', '1.5', '1.50', '2.25', '0.5'];
const REMOVALS = ['0', '0.000', '0.0'];
/** Price values per side: 200 ticks of 0.05, bids below 100 and asks above it, so a book never crosses. */
const TICKS = 200;

/**
 * An exchange's order-book feed for one symbol, made from a seeded generator: a snapshot,
 * then updates that add, change and remove levels (near the top and deep in the book),
 * write live prices in other spellings (`100.5` / `100.50` / `0100.5`), remove absent
 * levels, sometimes overlap the previous update's ids or repeat an update whole (stale), and
 * one snapshot midway that re-spells the top levels. Each event is recorded in `history`
 * before it is returned, so the reference always knows the book the gateway should hold.
 */
export class RandomBookStream {
  private lastUpdateId: number;
  private previousUpdate: UpstreamBookEvent | undefined;
  /** How often the stream did each thing a book feed must get right, so a test can show it did. */
  readonly made = { overlaps: 0, staleRepeats: 0, respelledLevels: 0, removals: 0 };

  constructor(
    private readonly random: () => number,
    private readonly history: ReferenceBookHistory,
    firstUpdateId: number,
  ) {
    this.lastUpdateId = firstUpdateId;
  }

  /** The opening snapshot: about half the price ticks of each side. */
  snapshot(): UpstreamBookEvent {
    const side = (bids: boolean): Level[] => {
      const levels: Level[] = [];
      for (let tick = 0; tick < TICKS; tick++)
        if (this.random() < 0.5)
          levels.push([this.spelling(this.price(bids, tick)), this.quantity()]);
      return levels;
    };
    return this.recorded({
      kind: 'snapshot',
      lastUpdateId: this.lastUpdateId,
      bids: side(true),
      asks: side(false),
    });
  }

  /** A snapshot in the middle of the feed: the current book, its top re-spelled, a few levels more. */
  respellingSnapshot(): UpstreamBookEvent {
    const { bids, asks } = this.history.current;
    const respelled = (levels: readonly Level[], isBid: boolean): Level[] => {
      const out = levels.map(([price, quantity], i): Level => [
        i < 30 ? this.otherSpelling(price) : price,
        quantity,
      ]);
      for (let n = 0; n < 5; n++) {
        const price = this.price(isBid, Math.floor(this.random() * TICKS));
        if (!out.some(([kept]) => Number(kept) === Number(price)))
          out.push([price, this.quantity()]);
      }
      return out;
    };
    this.lastUpdateId += 7;
    return this.recorded({
      kind: 'snapshot',
      lastUpdateId: this.lastUpdateId,
      bids: respelled(bids, true),
      asks: respelled(asks, false),
    });
  }

  /** The next update: 1 to 6 level changes, each price once. */
  update(): UpstreamBookEvent {
    if (this.previousUpdate && this.random() < 0.02) {
      // An exchange resending what it sent: the gateway must drop it as stale.
      this.made.staleRepeats++;
      return this.recorded(this.previousUpdate);
    }
    const count = 1 + Math.floor(this.random() * 6);
    const bids: Level[] = [];
    const asks: Level[] = [];
    const used = new Set<string>();
    for (let n = 0; n < count; n++) {
      const isBid = this.random() < 0.5;
      const levels = isBid ? this.history.current.bids : this.history.current.asks;
      const nearTop = this.random() < 0.5 && levels.length > 0;
      const live = nearTop
        ? levels[Math.floor(this.random() * Math.min(15, levels.length))]
        : undefined;
      const price = live ? live[0] : this.price(isBid, Math.floor(this.random() * TICKS));
      const key = `${isBid}:${Number(price)}`;
      if (used.has(key)) continue;
      used.add(key);
      const exists = (isBid ? this.history.current.bids : this.history.current.asks).some(
        ([kept]) => Number(kept) === Number(price),
      );
      const spelled = this.random() < 0.3 ? this.otherSpelling(price) : price;
      const removal = exists ? this.random() < 0.4 : this.random() < 0.1;
      if (exists && spelled !== price) this.made.respelledLevels++;
      if (exists && removal) this.made.removals++;
      (isBid ? bids : asks).push([spelled, removal ? this.pick(REMOVALS) : this.quantity()]);
    }
    const span = 1 + Math.floor(this.random() * 3);
    // Now and then an update overlapping the previous one's ids, as exchanges send them.
    const overlap = this.random() < 0.05;
    if (overlap) this.made.overlaps++;
    const firstUpdateId = overlap
      ? this.lastUpdateId - Math.floor(this.random() * 2)
      : this.lastUpdateId + 1;
    this.lastUpdateId += span;
    return this.recorded({
      kind: 'update',
      firstUpdateId,
      lastUpdateId: this.lastUpdateId,
      bids,
      asks,
    });
  }

  /** An update that changes the best bid and the best ask, so that every feed's view changes. */
  topChangingUpdate(): UpstreamBookEvent {
    const { bids, asks } = this.history.current;
    const firstUpdateId = this.lastUpdateId + 1;
    this.lastUpdateId += 1;
    return this.recorded({
      kind: 'update',
      firstUpdateId,
      lastUpdateId: this.lastUpdateId,
      bids: bids.length > 0 ? [[bids[0]![0], '9.99']] : [],
      asks: asks.length > 0 ? [[asks[0]![0], '9.99']] : [],
    });
  }

  private recorded(event: UpstreamBookEvent): UpstreamBookEvent {
    this.history.record(event);
    if (event.kind === 'update') this.previousUpdate = event;
    return event;
  }

  private price(isBid: boolean, tick: number): string {
    return (isBid ? 90 + tick * 0.05 : 100.05 + tick * 0.05).toFixed(2);
  }

  /** The price mostly as two decimals, sometimes another way of writing it. */
  private spelling(price: string): string {
    return this.random() < 0.8 ? price : this.otherSpelling(price);
  }

  private otherSpelling(price: string): string {
    const others = spellingsOf(price).filter((spelling) => spelling !== price);
    return this.pick(others);
  }

  private quantity(): string {
    return this.pick(QUANTITIES);
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)]!;
  }
}
