import type { RealtimeEventPayloads } from '../events/event-catalogue.js';
import { OrderBook } from './order-book.js';

type SnapshotPayload = RealtimeEventPayloads['orderbook.snapshot'];
type UpdatePayload = RealtimeEventPayloads['orderbook.update'];

/** Why an upstream update was not forwarded. */
export type HeldBack = 'before-snapshot' | 'gap' | 'stale';

interface SymbolBook {
  readonly book: OrderBook;
  /** False before the first snapshot and after a hole, until the next snapshot. */
  synced: boolean;
}

/**
 * Keeps each symbol's book from the upstream stream and decides what clients get: every
 * snapshot (with checksum), and only updates that continue the book without overlap or
 * hole. After a hole nothing is forwarded until the next upstream snapshot. Every price
 * sent is spelled as the kept book spells it, the strings the checksum covers.
 */
export class OrderBookSequencer {
  private readonly books = new Map<string, SymbolBook>();

  constructor(private readonly maxDepth: number) {}

  /** The snapshot to forward to every subscriber: the kept book, sorted, with its checksum. */
  snapshot(data: SnapshotPayload): SnapshotPayload & { checksum: number } {
    const entry = this.entry(data.symbol);
    entry.book.reset(data.lastUpdateId, data.bids, data.asks);
    entry.synced = true;
    return {
      ...data,
      bids: entry.book.bidLevels(),
      asks: entry.book.askLevels(),
      checksum: entry.book.checksum(),
    };
  }

  /** The update to forward, or why it is held back. */
  update(
    data: UpdatePayload,
  ): { forward: UpdatePayload & { checksum: number } } | { heldBack: HeldBack } {
    const entry = this.books.get(data.symbol);
    if (!entry?.synced) return { heldBack: 'before-snapshot' };
    const { book } = entry;
    if (data.lastUpdateId <= book.lastUpdateId) return { heldBack: 'stale' };
    if (data.firstUpdateId > book.lastUpdateId + 1) {
      entry.synced = false;
      return { heldBack: 'gap' };
    }
    // An update that overlaps the book's last id still ends the book at its lastUpdateId,
    // since its quantities are absolute; clients are told it starts right after their book.
    const firstUpdateId = book.lastUpdateId + 1;
    // Sent spelled as the book spells each price, so a client keying levels by the string
    // keeps the same levels as the gateway, which keys them by value.
    const { bids, asks } = book.apply(data.lastUpdateId, data.bids, data.asks);
    return { forward: { ...data, firstUpdateId, bids, asks, checksum: book.checksum() } };
  }

  /** `symbol`'s kept book, once a snapshot made it: feeds follow it. */
  book(symbol: string): OrderBook | undefined {
    return this.books.get(symbol)?.book;
  }

  /** Whether `data` ends at or before the book it would update: nothing to forward. */
  stale(data: UpdatePayload): boolean {
    const entry = this.books.get(data.symbol);
    return entry !== undefined && entry.synced && data.lastUpdateId <= entry.book.lastUpdateId;
  }

  /** Whether `symbol`'s book is in sync with the exchange's (a snapshot, and no hole since). */
  synced(symbol: string): boolean {
    return this.books.get(symbol)?.synced ?? false;
  }

  private entry(symbol: string): SymbolBook {
    let entry = this.books.get(symbol);
    if (!entry)
      this.books.set(symbol, (entry = { book: new OrderBook(this.maxDepth), synced: true }));
    return entry;
  }

  /** Whether `symbol`'s kept book has its best bid at or above its best ask. */
  crossed(symbol: string): boolean {
    return this.books.get(symbol)?.book.crossed ?? false;
  }

  /** What a new subscriber gets first; undefined while the book is not in sync. */
  current(symbol: string): (SnapshotPayload & { checksum: number }) | undefined {
    const entry = this.books.get(symbol);
    if (!entry?.synced) return undefined;
    const { book } = entry;
    return {
      symbol,
      lastUpdateId: book.lastUpdateId,
      bids: book.bidLevels(),
      asks: book.askLevels(),
      checksum: book.checksum(),
    };
  }
}
