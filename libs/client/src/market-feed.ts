/** How often a subscription's messages come: every one (`realtime`), or once per window. */
export const FEED_RATES = ['realtime', '100ms', '250ms', '1000ms'] as const;
export type FeedRate = (typeof FEED_RATES)[number];

/** How many levels of each side a partial order book holds (`depth`, order books only). */
export const BOOK_DEPTHS = [10, 20, 50, 100] as const;
export type BookDepth = (typeof BOOK_DEPTHS)[number];

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
