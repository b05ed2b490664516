import { crc32 as zlibCrc32 } from 'node:zlib';
import type { Level } from './reference-book.js';
import { ValueReferenceBook } from './value-reference-book.js';

/** One side pair of a book, best first. */
export interface BookLevels {
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

/** An upstream order-book event as a host app publishes it. */
export type UpstreamBookEvent =
  | { kind: 'snapshot'; lastUpdateId: number; bids: Level[]; asks: Level[] }
  | { kind: 'update'; firstUpdateId: number; lastUpdateId: number; bids: Level[]; asks: Level[] };

/** An upstream event the gateway's book took (not a stale one), and the book after it. */
export interface AcceptedBookEvent {
  readonly kind: 'snapshot' | 'update';
  readonly lastUpdateId: number;
  readonly book: BookLevels;
}

/**
 * CRC-32 (as zlib, unsigned) of the top `levels` of each side interleaved
 * `bidP:bidQ:askP:askQ:...`, a side that runs out no longer contributing: docs/PROTOCOL.md's
 * checksum, written here without the gateway's code.
 */
export function bookChecksum(book: BookLevels, levels = 25): number {
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) {
    const bid = book.bids[i];
    const ask = book.asks[i];
    if (!bid && !ask) break;
    if (bid) parts.push(bid[0], bid[1]);
    if (ask) parts.push(ask[0], ask[1]);
  }
  return zlibCrc32(parts.join(':')) >>> 0;
}

/** The top `depth` levels of each side (the whole book for Infinity). */
export function topOf(book: BookLevels, depth: number): BookLevels {
  return depth === Infinity
    ? book
    : { bids: book.bids.slice(0, depth), asks: book.asks.slice(0, depth) };
}

/** Where two books first differ, or undefined when they are equal level for level, string for string. */
export function firstDifference(actual: BookLevels, expected: BookLevels): string | undefined {
  for (const side of ['bids', 'asks'] as const) {
    const a = actual[side];
    const e = expected[side];
    const length = Math.max(a.length, e.length);
    for (let i = 0; i < length; i++) {
      if (a[i]?.[0] !== e[i]?.[0] || a[i]?.[1] !== e[i]?.[1]) {
        return `${side}[${i}] is ${JSON.stringify(a[i] ?? null)}, expected ${JSON.stringify(e[i] ?? null)} (${a.length} vs ${e.length} levels)`;
      }
    }
  }
  return undefined;
}

/**
 * The book the gateway should hold after every upstream event of one symbol, kept by the
 * sequencing rule of docs/PROTOCOL.md: a snapshot replaces the book, an update that ends at
 * or before the book's id is stale and ignored, an overlapping one is applied (quantities are
 * absolute). The book is an independent value-keyed one (ValueReferenceBook); every state is
 * kept, by update id, so any message can be checked against the book at its `lastUpdateId`.
 */
export class ReferenceBookHistory {
  private readonly reference = new ValueReferenceBook();
  private readonly states = new Map<number, BookLevels>();
  /** Every event the book took, in order. */
  readonly accepted: AcceptedBookEvent[] = [];
  lastUpdateId = 0;

  /** Applies an upstream event; returns whether the gateway's book takes it (false: stale). */
  record(event: UpstreamBookEvent): boolean {
    if (event.kind === 'snapshot') {
      this.reference.reset(event.bids, event.asks);
    } else {
      if (event.lastUpdateId <= this.lastUpdateId) return false;
      if (event.firstUpdateId > this.lastUpdateId + 1)
        throw new Error(`the generator made a hole before ${event.firstUpdateId}`);
      this.reference.apply('bids', event.bids);
      this.reference.apply('asks', event.asks);
    }
    this.lastUpdateId = event.lastUpdateId;
    const book = { bids: this.reference.sorted('bids'), asks: this.reference.sorted('asks') };
    this.states.set(event.lastUpdateId, book);
    this.accepted.push({ kind: event.kind, lastUpdateId: event.lastUpdateId, book });
    return true;
  }

  /** The book right after the event that ended at `lastUpdateId`; undefined when no event did. */
  at(lastUpdateId: number): BookLevels | undefined {
    return this.states.get(lastUpdateId);
  }

  /** The current book, best first. */
  get current(): BookLevels {
    return this.states.get(this.lastUpdateId) ?? { bids: [], asks: [] };
  }

  /**
   * How many messages a realtime subscriber of depth `depth` gets after joining at
   * `joinedAt` (the id of the snapshot it got): one per snapshot, and one per update that
   * changed its top `depth` levels (every update for the whole book).
   */
  realtimeMessagesAfter(joinedAt: number, depth: number): number {
    let count = 0;
    let previous = this.at(joinedAt);
    for (const event of this.accepted) {
      if (event.lastUpdateId <= joinedAt) continue;
      if (
        event.kind === 'snapshot' ||
        depth === Infinity ||
        !previous ||
        firstDifference(topOf(event.book, depth), topOf(previous, depth)) !== undefined
      )
        count++;
      previous = event.book;
    }
    return count;
  }
}
