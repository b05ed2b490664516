import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { Envelope } from '../broadcast/envelope.js';
import { localRoom } from '../broadcast/local-room.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeEvent } from '../events/event-catalogue.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { MarketState } from '../market/market-state.service.js';
import { CountedLog } from '../metrics/counted-log.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { BookFeed } from './book-feed.js';
import type { Feed } from './feed.js';
import { FEED_WINDOW_MS, type FeedChoice } from './feed-choice.js';
import { WindowFeed } from './window-feed.js';

type Payload = Record<string, unknown>;

/** A subscription that is not its room's plain feed: where it listens, and what it chose. */
export interface FeedSubscription {
  /** The subscription room (`orderbook:BTCUSDT`). */
  readonly room: string;
  /** The feed's room (`orderbook:BTCUSDT|250ms|d10`). */
  readonly feedRoom: string;
  readonly channel: string;
  readonly symbol: string;
  readonly key?: string;
  readonly choice: FeedChoice;
}

/** One clock per window length: every feed of that rate ends its window on the same tick. */
interface WindowClock {
  readonly timer: NodeJS.Timeout;
  readonly feeds: Set<Feed>;
}

/**
 * The feeds this instance makes for subscribers that chose a rate or a partial book: one per
 * subscription room and choice, made on its first subscriber and dropped with its last, fed
 * every message of its room after the room's own subscribers got it. A windowed feed ends its
 * window on its rate's clock, which runs only while such a feed exists.
 */
@Injectable()
export class SubscriberFeeds implements OnModuleDestroy {
  private readonly byRoom = new Map<string, Feed[]>();
  private readonly byFeedRoom = new Map<string, { feed: Feed; room: string }>();
  private readonly clocks = new Map<number, WindowClock>();
  private readonly failures = new CountedLog(new Logger('Feeds'));
  private readonly bookChannel: string;
  private server: Namespace | undefined;

  constructor(
    @Inject(MarketState) private readonly market: MarketState,
    @Inject(RealtimeCatalogue) private readonly catalogue: RealtimeCatalogue,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
  ) {
    this.bookChannel = catalogue.definition(RealtimeEvent.OrderBookSnapshot)!.channel;
  }

  attach(server: Namespace): void {
    this.server = server;
  }

  /** Whether some feed follows `room`'s messages. */
  follows(room: string): boolean {
    return this.byRoom.has(room);
  }

  /** Whether `channel`'s feeds are order books (whose `since` is served by a snapshot). */
  isBookChannel(channel: string): boolean {
    return channel === this.bookChannel;
  }

  /** One message of `room` (delivered to its plain subscribers already): to every feed of it. */
  take(room: string, definition: CatalogueEvent, data: Payload, envelope: Envelope): void {
    for (const feed of this.byRoom.get(room)!) {
      try {
        feed.take(definition, data, envelope);
      } catch (error) {
        this.recordFailure(feed, error);
      }
    }
  }

  /** The feed of `subscription`, made if it is the first subscriber. */
  open(subscription: FeedSubscription): Feed {
    const existing = this.byFeedRoom.get(subscription.feedRoom);
    if (existing) return existing.feed;
    const feed = this.make(subscription);
    this.byFeedRoom.set(feed.room, { feed, room: subscription.room });
    const feeds = this.byRoom.get(subscription.room);
    if (feeds) feeds.push(feed);
    else this.byRoom.set(subscription.room, [feed]);
    if (feed.windowMs !== undefined) this.clockOf(feed.windowMs).feeds.add(feed);
    return feed;
  }

  /** A member joins or leaves `feedRoom`: see `Feed.settle`. Nothing for other rooms. */
  settle(feedRoom: string): void {
    this.byFeedRoom.get(feedRoom)?.feed.settle();
  }

  /** The feed's room lost its last member here. */
  emptied(feedRoom: string): void {
    const entry = this.byFeedRoom.get(feedRoom);
    if (!entry) return;
    const { feed, room } = entry;
    this.byFeedRoom.delete(feedRoom);
    feed.dispose();
    const feeds = this.byRoom.get(room)!;
    feeds.splice(feeds.indexOf(feed), 1);
    if (feeds.length === 0) this.byRoom.delete(room);
    if (feed.windowMs === undefined) return;
    const clock = this.clocks.get(feed.windowMs)!;
    clock.feeds.delete(feed);
    if (clock.feeds.size > 0) return;
    clearInterval(clock.timer);
    this.clocks.delete(feed.windowMs);
  }

  /** Feeds alive here, for tests and operators. */
  get size(): number {
    return this.byFeedRoom.size;
  }

  onModuleDestroy(): void {
    for (const { timer } of this.clocks.values()) clearInterval(timer);
    this.clocks.clear();
    for (const { feed } of this.byFeedRoom.values()) feed.dispose();
    this.byFeedRoom.clear();
    this.byRoom.clear();
  }

  private make(subscription: FeedSubscription): Feed {
    const { feedRoom, channel, symbol, key, choice } = subscription;
    const windowMs = choice.rate === 'realtime' ? undefined : FEED_WINDOW_MS[choice.rate];
    const outlet = this.outletFor(channel);
    const currentState = () => this.market.replay(channel, symbol, key);
    if (channel === this.bookChannel) {
      const followed = {
        symbol,
        book: () => this.market.orderBook(symbol),
        synced: () => this.market.orderBookSynced(symbol),
        currentState,
        snapshot: this.catalogue.definition(RealtimeEvent.OrderBookSnapshot)!,
        update: this.catalogue.definition(RealtimeEvent.OrderBookUpdate)!,
      };
      return new BookFeed(feedRoom, windowMs, choice.depth, followed, outlet);
    }
    // The parser allows a realtime feed only for partial books.
    const conflated = this.catalogue.channel(channel)?.events.some((e) => e.conflatable) ?? false;
    return new WindowFeed(feedRoom, windowMs!, conflated, outlet, currentState);
  }

  private outletFor(channel: string) {
    return (room: string, event: string, body: unknown, skippable: boolean): void => {
      if (!this.server) return;
      this.metrics.messageOut(channel);
      localRoom(this.server, room, skippable).emit(event, body);
    };
  }

  private clockOf(windowMs: number): WindowClock {
    let clock = this.clocks.get(windowMs);
    if (clock) return clock;
    const feeds = new Set<Feed>();
    const timer = setInterval(() => {
      for (const feed of feeds) {
        try {
          feed.flush();
        } catch (error) {
          this.recordFailure(feed, error);
        }
      }
    }, windowMs);
    timer.unref();
    this.clocks.set(windowMs, (clock = { timer, feeds }));
    return clock;
  }

  private recordFailure(feed: Feed, error: unknown): void {
    this.metrics.drop('delivery_failed');
    this.failures.record(feed.room, () => {
      const reason = error instanceof Error ? error.message : String(error);
      return `Could not feed ${feed.room}: ${reason}`;
    });
  }
}
