import { OrderBook, type BookLevel } from '../../realtime/src/market/order-book.js';

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
 * message missed, or updates the gateway held back after a hole in the exchange's feed), a
 * new epoch of the room's stream (`epoch-changed`: reset, so nothing before can be relied
 * on), an update that does not continue the book (`update-gap`), or a wrong checksum.
 */
export type StaleReason = 'offset-gap' | 'epoch-changed' | 'update-gap' | 'checksum-mismatch';

/**
 * A client's local copy of one symbol's order book, following docs/PROTOCOL.md: take a
 * snapshot, apply the updates that follow it, check `offset` and `epoch`, the update ids and
 * the checksum after every message, and say when to resubscribe (with no `since`: a fresh
 * snapshot) instead of showing a wrong book.
 */
export class OrderBookSync {
  readonly book: OrderBook;
  private syncState: OrderBookSyncState = 'waiting';
  private last: { offset: number; epoch: string } | undefined;
  private staleReason: StaleReason | undefined;

  /** `maxDepth` should match the gateway's `orderBookDepth` when books are deep. */
  constructor(
    readonly symbol: string,
    maxDepth = Infinity,
    private readonly onStale?: (reason: StaleReason) => void,
  ) {
    this.book = new OrderBook(maxDepth);
  }

  get state(): OrderBookSyncState {
    return this.syncState;
  }

  get reason(): StaleReason | undefined {
    return this.staleReason;
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
      if (envelope.offset !== this.last.offset + 1) return this.stale('offset-gap');
    }
    this.last = { offset: envelope.offset, epoch: envelope.epoch };
    const { data } = envelope;
    if (isSnapshot) {
      this.book.reset(data.lastUpdateId, data.bids, data.asks);
      this.syncState = 'synced';
    } else if (envelope.event === 'orderbook.update') {
      if (this.syncState !== 'synced') return this.syncState;
      if (data.firstUpdateId !== this.book.lastUpdateId + 1) return this.stale('update-gap');
      this.book.apply(data.lastUpdateId, data.bids, data.asks);
    } else {
      return this.syncState;
    }
    if (this.book.checksum() !== data.checksum) return this.stale('checksum-mismatch');
    return this.syncState;
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
