import { CHECKSUM_DEPTH, OrderBook, type BookLevel } from '../../realtime/src/market/order-book.js';
import {
  feedOf,
  isConflatedBook,
  type BookDepth,
  type FeedRate,
  type MarketFeed,
} from './market-feed.js';

/** The order-book events a client receives, as far as syncing needs them. */
export interface OrderBookEnvelope {
  event: 'orderbook.snapshot' | 'orderbook.update' | string;
  /** The room's stream position of this message (see `StreamPosition`). */
  offset: number;
  epoch: string;
  replay?: boolean;
  data: {
    symbol: string;
    lastUpdateId: number;
    firstUpdateId?: number;
    bids: BookLevel[];
    asks: BookLevel[];
    checksum: number;
  };
}

/** `waiting` for a snapshot; `synced`; `stale` once the book cannot be trusted until resubscribing. */
export type OrderBookSyncState = 'waiting' | 'synced' | 'stale';

/**
 * Why a book went stale: a live message that did not follow the last one (`offset-gap`: a
 * message missed, or updates the gateway held back after a hole in the exchange's feed; not
 * checked on conflated feeds, whose offsets jump), a new epoch of the room's stream
 * (`epoch-changed`: reset, so nothing before can be relied on), an update that leaves a hole
 * after the book's last update id (`update-gap`), a wrong checksum, or a partial book (depth
 * N) left with more than N levels on a side (`depth-exceeded`: the gateway sends a `"0"` for
 * every level that leaves the top N, so one more means an update was lost or misapplied).
 */
export type StaleReason =
  'offset-gap' | 'epoch-changed' | 'update-gap' | 'checksum-mismatch' | 'depth-exceeded';

/** How `OrderBookSync` follows its book: the subscription's feed, and what to keep. */
export interface OrderBookSyncOptions extends MarketFeed {
  /**
   * Levels kept per side of a whole book (worse ones are dropped); should match the gateway's
   * `orderBookDepth` when books are deep. A partial book (`depth`) holds its N levels anyway.
   */
  maxDepth?: number;
}

/**
 * A client's local copy of one symbol's order book, following docs/PROTOCOL.md: take a
 * snapshot, apply the updates that follow it, check `offset` and `epoch`, the update ids and
 * the checksum after every message, and say when to resubscribe (with no `since`: a fresh
 * snapshot) instead of showing a wrong book.
 *
 * Every update goes by the overlap rule: one whose `lastUpdateId` the book already has is
 * ignored (the first update of a feed may overlap the snapshot), one whose `firstUpdateId`
 * leaves a hole is an `update-gap`, any other is applied (levels are absolute, so the overlap
 * changes nothing). On a conflated feed (a `rate`, or a `depth`) offsets jump, so the update
 * ids alone show continuity; a depth-N book's checksum covers its top min(N, 25) levels.
 */
export class OrderBookSync {
  readonly book: OrderBook;
  private syncState: OrderBookSyncState = 'waiting';
  private last: { offset: number; epoch: string } | undefined;
  private staleReason: StaleReason | undefined;
  private feed: { rate: FeedRate; depth?: BookDepth };

  /**
   * `options`: the feed (`rate`, `depth`) and `maxDepth`, or `maxDepth` alone (a whole book
   * in real time).
   */
  constructor(
    readonly symbol: string,
    options: OrderBookSyncOptions | number = {},
    private readonly onStale?: (reason: StaleReason) => void,
  ) {
    const { maxDepth = Infinity, ...feed } =
      typeof options === 'number' ? { maxDepth: options } : options;
    this.book = new OrderBook(maxDepth);
    this.feed = feedOf(feed);
  }

  get state(): OrderBookSyncState {
    return this.syncState;
  }

  get reason(): StaleReason | undefined {
    return this.staleReason;
  }

  /** The feed followed: `rate` (default `realtime`) and `depth` (absent: the whole book). */
  get rate(): FeedRate {
    return this.feed.rate;
  }

  get depth(): BookDepth | undefined {
    return this.feed.depth;
  }

  /** Whether the feed skips offsets (any rate but `realtime`, any `depth`). */
  get conflated(): boolean {
    return isConflatedBook(this.feed);
  }

  /**
   * Follows another feed of the same book (the subscription was switched): forgets the book
   * and waits for the snapshot the switch replays. Returns false, changing nothing, when the
   * feed is the one followed already (subscribing again to it replays nothing).
   */
  switchFeed(feed: MarketFeed): boolean {
    const next = feedOf(feed);
    if (next.rate === this.feed.rate && next.depth === this.feed.depth) return false;
    this.feed = next;
    this.reset();
    return true;
  }

  /** Takes one envelope of the `orderbook:{symbol}` subscription; returns the state after it. */
  apply(envelope: OrderBookEnvelope): OrderBookSyncState {
    if (envelope.data.symbol !== this.symbol || this.syncState === 'stale') return this.syncState;
    // A replayed snapshot carries the room's current position; every live update is one more.
    // A snapshot replaces the book whatever came before it: after an upstream hole the
    // gateway holds updates back (their offsets show the jump) until the next snapshot.
    const isSnapshot = envelope.event === 'orderbook.snapshot';
    if (!envelope.replay && !isSnapshot && this.last !== undefined) {
      if (envelope.epoch !== this.last.epoch) return this.stale('epoch-changed');
      if (!this.conflated && envelope.offset !== this.last.offset + 1)
        return this.stale('offset-gap');
    }
    this.last = { offset: envelope.offset, epoch: envelope.epoch };
    const { data } = envelope;
    if (isSnapshot) {
      this.book.reset(data.lastUpdateId, data.bids, data.asks);
      this.syncState = 'synced';
    } else if (envelope.event === 'orderbook.update') {
      if (this.syncState !== 'synced') return this.syncState;
      // Already in the book (it overlapped the snapshot, or came again): nothing to check.
      if (data.lastUpdateId <= this.book.lastUpdateId) return this.syncState;
      if (typeof data.firstUpdateId !== 'number' || data.firstUpdateId > this.book.lastUpdateId + 1)
        return this.stale('update-gap');
      this.book.apply(data.lastUpdateId, data.bids, data.asks);
    } else {
      return this.syncState;
    }
    const { depth } = this.feed;
    if (depth !== undefined) {
      const held = this.book.depth;
      if (held.bids > depth || held.asks > depth) return this.stale('depth-exceeded');
    }
    if (this.checksum() !== data.checksum) return this.stale('checksum-mismatch');
    return this.syncState;
  }

  /**
   * The checksum the gateway sends for this feed: over the top 25 levels, or the top N of a
   * depth-N book when N is less.
   */
  checksum(): number {
    return this.book.checksum(this.feed.depth ?? CHECKSUM_DEPTH);
  }

  /** Forgets everything, for a new subscription. */
  reset(): void {
    this.syncState = 'waiting';
    this.last = undefined;
    this.staleReason = undefined;
    this.book.reset(0, [], []);
  }

  /** The best `depth` bids, highest first. */
  bids(depth = 20): BookLevel[] {
    return this.book.bidLevels(depth);
  }

  /** The best `depth` asks, lowest first. */
  asks(depth = 20): BookLevel[] {
    return this.book.askLevels(depth);
  }

  private stale(reason: StaleReason): OrderBookSyncState {
    this.syncState = 'stale';
    this.staleReason = reason;
    this.onStale?.(reason);
    return this.syncState;
  }
}
