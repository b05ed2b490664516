import { Inject, Injectable, Logger } from '@nestjs/common';
import { RealtimeSettings } from '../config/realtime-settings.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeEvent, eventDefinition } from '../events/event-catalogue.js';
import { marketRoom } from '../events/rooms.js';
import { CountedLog } from '../metrics/counted-log.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { OrderBook } from './order-book.js';
import { OrderBookSequencer } from './order-book-sequencer.js';

type Payload = Record<string, unknown>;

/** A message a new subscriber gets before the live stream. */
export interface ReplayedEvent {
  readonly definition: CatalogueEvent;
  readonly data: Payload;
}

/**
 * The market's current state, kept from the events that pass: each order book, the latest
 * ticker per symbol, the current kline per symbol and interval, the last trades. It decides
 * which order-book events go out, and what a new subscriber gets first.
 */
@Injectable()
export class MarketState {
  private readonly books: OrderBookSequencer;
  private readonly logger = new Logger('OrderBooks');
  private readonly heldBack = new CountedLog(this.logger);
  private readonly crossedSnapshots = new CountedLog(this.logger);
  private readonly tickers = new Map<string, Payload>();
  private readonly klines = new Map<string, Payload>();
  private readonly trades = new Map<string, Payload[]>();
  /** Host events with `replayLast`: the last of each, per room. */
  private readonly lastValues = new Map<string, Map<CatalogueEvent, Payload>>();
  private tickersChanged = false;

  constructor(
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
  ) {
    this.books = new OrderBookSequencer(settings.orderBookDepth);
  }

  /**
   * Records a validated market event; returns what to deliver (order-book events carry a
   * checksum), or null when an order-book update must be held back.
   */
  admit(definition: CatalogueEvent, data: Payload): Payload | null {
    switch (definition.event) {
      case RealtimeEvent.OrderBookSnapshot: {
        const snapshot = this.books.snapshot(data as never);
        // Forwarded all the same: it is the exchange's book, and a client left without one
        // would show an older book as if it were current. Counted so that a feed fault shows.
        if (this.books.crossed(snapshot.symbol)) this.recordCrossed(snapshot);
        return snapshot;
      }
      case RealtimeEvent.OrderBookUpdate: {
        const verdict = this.books.update(data as never);
        if ('forward' in verdict) return verdict.forward;
        this.metrics.drop(`orderbook-${verdict.heldBack}`);
        if (verdict.heldBack !== 'stale') {
          this.heldBack.record(
            `${verdict.heldBack} ${data.symbol}`,
            () =>
              `Holding back ${data.symbol} order-book updates until the next snapshot: ${verdict.heldBack === 'gap' ? 'a hole in the update ids' : 'no snapshot yet'}`,
          );
        }
        return null;
      }
      case RealtimeEvent.TickerUpdate:
        this.tickers.set(data.symbol as string, data);
        this.tickersChanged = true;
        return data;
      case RealtimeEvent.KlineUpdate:
        this.klines.set(marketRoom('klines', data.symbol as string, data.interval as string), data);
        return data;
      case RealtimeEvent.Trade: {
        const recent = this.trades.get(data.symbol as string) ?? [];
        recent.push(data);
        if (recent.length > this.settings.recentTrades) recent.shift();
        this.trades.set(data.symbol as string, recent);
        return data;
      }
      default:
        if (definition.replayLast) this.keepLast(definition, data);
        return data;
    }
  }

  private recordCrossed(snapshot: { symbol: string; bids: string[][]; asks: string[][] }): void {
    this.metrics.drop('orderbook-crossed');
    this.crossedSnapshots.record(
      snapshot.symbol,
      () =>
        `Crossed ${snapshot.symbol} order-book snapshot: best bid ${snapshot.bids[0]![0]} at or above best ask ${snapshot.asks[0]![0]}; forwarded as sent`,
    );
  }

  private keepLast(definition: CatalogueEvent, data: Payload): void {
    const key = definition.key ? String(data[definition.key.field]) : undefined;
    const room = marketRoom(definition.channel, data.symbol as string, key);
    let last = this.lastValues.get(room);
    if (!last) this.lastValues.set(room, (last = new Map()));
    last.set(definition, data);
  }

  /** `symbol`'s kept order book, once it had a snapshot: for feeds that follow it. */
  orderBook(symbol: string): OrderBook | undefined {
    return this.books.book(symbol);
  }

  /**
   * Whether an order-book update repeats what the book already has (an exchange's resend):
   * refused before it takes a place in the room's stream, where it would leave a jump.
   */
  staleOrderBookUpdate(data: Payload): boolean {
    return this.books.stale(data as never);
  }

  /** Whether `symbol`'s book is in sync: what a new subscriber may be sent. */
  orderBookSynced(symbol: string): boolean {
    return this.books.synced(symbol);
  }

  /** Order-book updates held back so far, by kind and symbol. */
  heldBackCounts(): ReadonlyMap<string, number> {
    return this.heldBack.counts();
  }

  /** Crossed order-book snapshots (best bid at or above best ask) so far, by symbol. */
  crossedSnapshotCounts(): ReadonlyMap<string, number> {
    return this.crossedSnapshots.counts();
  }

  /** What a new subscriber to `channel` / `symbol` / `key` gets first, oldest first. */
  replay(channel: string, symbol: string, key?: string): ReplayedEvent[] {
    const events: ReplayedEvent[] = [];
    const add = (event: string, data: Payload | undefined) => {
      if (data) events.push({ definition: eventDefinition(event)!, data });
    };
    switch (channel) {
      case 'ticker':
        if (symbol === 'all') {
          if (this.tickers.size > 0) add(RealtimeEvent.TickersUpdate, this.allTickers());
        } else add(RealtimeEvent.TickerUpdate, this.tickers.get(symbol));
        break;
      case 'orderbook':
        add(RealtimeEvent.OrderBookSnapshot, this.books.current(symbol));
        break;
      case 'klines':
        add(RealtimeEvent.KlineUpdate, this.klines.get(marketRoom('klines', symbol, key)));
        break;
      case 'trades':
        for (const trade of this.trades.get(symbol) ?? []) add(RealtimeEvent.Trade, trade);
        break;
      default:
        for (const [definition, data] of this.lastValues.get(marketRoom(channel, symbol, key)) ??
          [])
          events.push({ definition, data });
    }
    return events;
  }

  /** `tickers.update` for `ticker:all`, when a ticker changed since the last call; else null. */
  tickersDigest(now: number): Payload | null {
    if (!this.tickersChanged) return null;
    this.tickersChanged = false;
    return this.allTickers(now);
  }

  private allTickers(now = Date.now()): Payload {
    return { tickers: [...this.tickers.values()], timestamp: now };
  }
}
