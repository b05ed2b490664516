import { envelope as envelopeOf, type Envelope } from '../broadcast/envelope.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeEvent } from '../events/event-catalogue.js';
import type { ReplayedEvent } from '../market/market-state.service.js';
import { BookChanges, type BookLevel, type OrderBook } from '../market/order-book.js';
import { topLevelChanges } from '../market/top-level-changes.js';
import type { Feed, FeedOutlet } from './feed.js';

type Payload = Record<string, unknown>;

/** What a book feed needs of the market: the symbol's kept book, and whether it is in sync. */
export interface FollowedBook {
  readonly symbol: string;
  /** The kept book; undefined before the symbol's first snapshot. */
  book(): OrderBook | undefined;
  synced(): boolean;
  /** The whole book as a new subscriber of the plain feed gets it. */
  currentState(): readonly ReplayedEvent[];
  readonly snapshot: CatalogueEvent;
  readonly update: CatalogueEvent;
}

/** The top levels a partial book's subscribers hold, as last sent. */
interface HeldTop {
  bids: BookLevel[];
  asks: BookLevel[];
  lastUpdateId: number;
  checksum: number;
}

/**
 * An order-book feed at a rate, or of the top `depth` levels, or both: made from the
 * gateway's kept book (which has taken every exchange update already), so every subscriber's
 * book equals the gateway's at each message it gets.
 *
 * - At a rate, the whole book: every level that changed in the window (recorded by the book
 *   as it changes, trims included) at its state at the window's end, removals kept, so a
 *   subscriber that joined mid-window (holding a later book) ends exact too.
 * - A partial book: what its subscribers hold (the top `depth`) is kept, and the update is
 *   the difference to the book's top now, removals of levels that left it included; at a
 *   rate, once per window, otherwise after each exchange update that changed the top.
 *
 * Either way `firstUpdateId` follows the last message this feed sent. An exchange snapshot
 * becomes a snapshot of the book (its top) when the window ends.
 */
export class BookFeed implements Feed {
  /** The whole book at a rate: the levels changed since the last update sent. */
  private changes: BookChanges | undefined;
  private tracked: OrderBook | undefined;
  private held: HeldTop | undefined;
  /** The book's update id the last message sent took its subscribers to. */
  private sentUpdateId = 0;
  private snapshotDue = false;
  /** Whether something came since the window's last flush. */
  private changed = false;
  private offset = 0;
  private epoch = '';
  readonly conflated = true;

  constructor(
    readonly room: string,
    readonly windowMs: number | undefined,
    private readonly depth: number | undefined,
    private readonly followed: FollowedBook,
    private readonly outlet: FeedOutlet,
  ) {
    const book = followed.synced() ? followed.book() : undefined;
    if (book) this.follow(book);
  }

  take(definition: CatalogueEvent, data: Payload, envelope: Envelope): void {
    this.offset = envelope.offset;
    this.epoch = envelope.epoch;
    const book = this.followed.book();
    if (!book) return;
    if (definition.event === RealtimeEvent.OrderBookSnapshot) {
      if (this.tracked !== book) this.follow(book);
      if (this.windowMs === undefined) return this.sendSnapshot(book);
      this.snapshotDue = true;
      this.changed = true;
      return;
    }
    if (this.tracked !== book) return;
    if (this.windowMs !== undefined) {
      this.changed = true;
      return;
    }
    if (this.touchesHeldTop(data)) this.sendTopChanges(book);
  }

  flush(): void {
    if (!this.changed || !this.tracked) return;
    this.changed = false;
    const book = this.tracked;
    if (this.snapshotDue) return this.sendSnapshot(book);
    if (this.depth === undefined) this.sendMerged(book);
    else this.sendTopChanges(book);
  }

  settle(): void {
    // Nothing to do: a new member starts from the book its replay says (the held top, or the
    // whole book that a merged update may overlap; quantities are absolute).
  }

  replay(): readonly ReplayedEvent[] {
    if (this.depth === undefined) return this.followed.currentState();
    const held = this.held;
    if (!held || !this.followed.synced()) return [];
    const data = {
      symbol: this.followed.symbol,
      lastUpdateId: held.lastUpdateId,
      bids: held.bids,
      asks: held.asks,
      checksum: held.checksum,
    };
    return [{ definition: this.followed.snapshot, data }];
  }

  dispose(): void {
    if (this.changes) this.tracked?.untrack(this.changes);
    this.tracked = undefined;
  }

  /** Starts from `book` as it is now: what a subscriber joining now is sent. */
  private follow(book: OrderBook): void {
    this.dispose();
    this.tracked = book;
    this.sentUpdateId = book.lastUpdateId;
    if (this.depth !== undefined) this.held = this.topOf(book);
    else if (this.windowMs !== undefined) book.track((this.changes ??= new BookChanges()));
  }

  private sendSnapshot(book: OrderBook): void {
    this.snapshotDue = false;
    this.changes?.clear();
    this.sentUpdateId = book.lastUpdateId;
    let data: Payload;
    if (this.depth === undefined) {
      data = {
        symbol: this.followed.symbol,
        lastUpdateId: book.lastUpdateId,
        bids: book.bidLevels(),
        asks: book.askLevels(),
        checksum: book.checksum(),
      };
    } else {
      const held = (this.held = this.topOf(book));
      data = { symbol: this.followed.symbol, ...held };
    }
    this.send(this.followed.snapshot, data);
  }

  private sendMerged(book: OrderBook): void {
    const changes = this.changes!;
    if (changes.size === 0) return;
    const { bids, asks } = book.changedSince(changes);
    changes.clear();
    this.sendUpdate(book, bids, asks, book.checksum());
  }

  private sendTopChanges(book: OrderBook): void {
    const before = this.held!;
    const after = this.topOf(book);
    const bids = topLevelChanges(before.bids, after.bids, true);
    const asks = topLevelChanges(before.asks, after.asks, false);
    if (bids.length === 0 && asks.length === 0) return;
    this.held = after;
    this.sendUpdate(book, bids, asks, after.checksum);
  }

  private sendUpdate(
    book: OrderBook,
    bids: BookLevel[],
    asks: BookLevel[],
    checksum: number,
  ): void {
    const data = {
      symbol: this.followed.symbol,
      firstUpdateId: this.sentUpdateId + 1,
      lastUpdateId: book.lastUpdateId,
      bids,
      asks,
      checksum,
    };
    this.sentUpdateId = book.lastUpdateId;
    this.send(this.followed.update, data);
  }

  private send(definition: CatalogueEvent, data: Payload): void {
    const message = envelopeOf(
      definition,
      this.followed.symbol,
      undefined,
      this.offset,
      this.epoch,
      Date.now(),
      data,
    );
    this.outlet(this.room, definition.event, message, false);
  }

  private topOf(book: OrderBook): HeldTop {
    const depth = this.depth!;
    return {
      bids: book.bidLevels(depth),
      asks: book.askLevels(depth),
      lastUpdateId: book.lastUpdateId,
      checksum: book.checksum(depth),
    };
  }

  /** Whether an exchange update reached the top its subscribers hold (or could enter it). */
  private touchesHeldTop(data: Payload): boolean {
    const held = this.held!;
    return (
      reachesTop(data.bids as BookLevel[], held.bids, this.depth!, true) ||
      reachesTop(data.asks as BookLevel[], held.asks, this.depth!, false)
    );
  }
}

function reachesTop(
  levels: readonly BookLevel[],
  top: readonly BookLevel[],
  depth: number,
  descending: boolean,
): boolean {
  if (levels.length === 0) return false;
  if (top.length < depth) return true;
  const worst = Number(top[depth - 1]![0]);
  for (const [price] of levels) {
    const value = Number(price);
    if (descending ? value >= worst : value <= worst) return true;
  }
  return false;
}
