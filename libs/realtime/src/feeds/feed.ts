import type { Envelope } from '../broadcast/envelope.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import type { ReplayedEvent } from '../market/market-state.service.js';

type Payload = Record<string, unknown>;

/**
 * One feed of a subscription room: what the subscribers of one rate (and book depth) get,
 * made once for all of them and sent to the feed's own room, so its cost does not grow with
 * its subscribers.
 */
export interface Feed {
  /** The feed's room (`orderbook:BTCUSDT|250ms|d10`), which its subscribers join. */
  readonly room: string;
  /** Its window in milliseconds; undefined for a realtime feed (a partial book). */
  readonly windowMs: number | undefined;
  /** Whether it leaves messages out (so its offsets skip): books, latest values. */
  readonly conflated: boolean;
  /** Each message of the subscription room, as delivered to its realtime subscribers. */
  take(definition: CatalogueEvent, data: Payload, envelope: Envelope): void;
  /** The window ended: sends what it holds, if anything. */
  flush(): void;
  /**
   * A subscriber joins or leaves: what the feed holds that must reach exactly the members
   * it had so far (a batch of trades that predates a new member's position) goes out now.
   */
  settle(): void;
  /** What a new subscriber gets first. */
  replay(): readonly ReplayedEvent[];
  dispose(): void;
}

/** How a feed sends: to its room on this instance, leaving out slow connections when `skippable`. */
export type FeedOutlet = (room: string, event: string, body: unknown, skippable: boolean) => void;
