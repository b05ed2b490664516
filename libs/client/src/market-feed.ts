import type { BookDepth, FeedRate } from '../../realtime/src/feeds/feed-choice.js';

// One list for the gateway and the SDK: the gateway's parser checks against these.
export {
  BOOK_DEPTHS,
  FEED_RATES,
  type BookDepth,
  type FeedRate,
} from '../../realtime/src/feeds/feed-choice.js';

/**
 * Which feed of a room a subscription takes: how often (`rate`, default `realtime`) and, for
 * an order book, how deep (`depth`, default the whole book). Not part of the subscription's
 * key: one room has one subscription, and subscribing with another feed switches it.
 */
export interface MarketFeed {
  rate?: FeedRate;
  depth?: BookDepth;
}

/**
 * The fields of a public subscription that choose its feed, never its room: they are no key
 * field (klines `interval`, a host's `chain`) and do not name the room's messages.
 */
export const FEED_FIELDS: ReadonlySet<string> = new Set(['rate', 'depth']);

/** The feed a subscription asks for, spelled out: `rate` always, `depth` when given. */
export function feedOf(feed: MarketFeed): { rate: FeedRate; depth?: BookDepth } {
  const rate = feed.rate ?? 'realtime';
  return feed.depth === undefined ? { rate } : { rate, depth: feed.depth };
}

/** Whether two subscriptions of one room take the same feed (so a second subscribe is no switch). */
export function sameFeed(a: MarketFeed, b: MarketFeed): boolean {
  return (a.rate ?? 'realtime') === (b.rate ?? 'realtime') && a.depth === b.depth;
}

/**
 * Whether an order-book feed skips offsets (the gateway says `conflated: true` for it): every
 * rate but `realtime`, and every partial book. Its update ids are then what shows continuity.
 */
export function isConflatedBook(feed: MarketFeed): boolean {
  return (feed.rate ?? 'realtime') !== 'realtime' || feed.depth !== undefined;
}
