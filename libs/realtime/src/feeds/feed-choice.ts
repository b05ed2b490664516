/** How often a subscription's messages come: every one (`realtime`), or once per window. */
export const FEED_RATES = ['realtime', '100ms', '250ms', '1000ms'] as const;
export type FeedRate = (typeof FEED_RATES)[number];

/** Each windowed rate's window, in milliseconds. */
export const FEED_WINDOW_MS: Readonly<Record<Exclude<FeedRate, 'realtime'>, number>> = {
  '100ms': 100,
  '250ms': 250,
  '1000ms': 1000,
};

/** Levels per side a partial order book may hold. */
export const BOOK_DEPTHS = [10, 20, 50, 100] as const;
export type BookDepth = (typeof BOOK_DEPTHS)[number];

/** What a subscriber chose beside its channel and symbol: how often, and how deep a book. */
export interface FeedChoice {
  readonly rate: FeedRate;
  /** Order books only: the top levels of each side the subscriber holds. */
  readonly depth?: BookDepth;
}

const rates: ReadonlySet<unknown> = new Set(FEED_RATES);
const depths: ReadonlySet<unknown> = new Set(BOOK_DEPTHS);

export function isFeedRate(value: unknown): value is FeedRate {
  return rates.has(value);
}

export function isBookDepth(value: unknown): value is BookDepth {
  return depths.has(value);
}

/** Whether a subscription is the room's own stream (every message, the whole book). */
export function isPlainFeed(choice: FeedChoice): boolean {
  return choice.rate === 'realtime' && choice.depth === undefined;
}
