import type { Channel, KlineInterval } from '../events/channels.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import type {
  RealtimeEvent,
  RealtimeEventName,
  RealtimeEventPayloads,
} from '../events/event-catalogue.js';

type OrderBookEventName =
  (typeof RealtimeEvent)['OrderBookSnapshot'] | (typeof RealtimeEvent)['OrderBookUpdate'];

/** A payload as delivered: as published, order-book events with the gateway's CRC-32 `checksum`. */
export type DeliveredPayload<E extends RealtimeEventName> = E extends OrderBookEventName
  ? RealtimeEventPayloads[E] & { checksum: number }
  : RealtimeEventPayloads[E];

/** What a client receives for every domain event; the Socket.IO event name is `event`. */
export interface Envelope<E extends RealtimeEventName = RealtimeEventName> {
  channel: Channel;
  event: E;
  /** The subscribed symbol (`all` for `tickers.update`); absent on private and system events. */
  symbol?: string;
  /** The kline interval, on `kline.update` only. */
  interval?: KlineInterval;
  /**
   * One more for every message this room was sent; starts at 1 when the room gets its first
   * subscriber. A replayed message carries the room's current value, so the next live one is +1.
   */
  seq: number;
  /** When the gateway sent it, in milliseconds since the epoch. */
  ts: number;
  /** Present (true) on what a new subscriber gets first: the current state, not news. */
  replay?: true;
  /** The event's payload as published (order-book events with the gateway's `checksum`). */
  data: DeliveredPayload<E>;
}

/**
 * One room message. A keyed channel's key travels under its own field name (klines:
 * `interval`), as the client subscribed with it.
 */
export function envelope(
  definition: CatalogueEvent,
  symbol: string | undefined,
  key: string | undefined,
  seq: number,
  ts: number,
  data: unknown,
  replay?: true,
): Envelope {
  const message: Record<string, unknown> = {
    channel: definition.channel,
    event: definition.event,
    symbol,
    seq,
    ts,
    replay,
    data,
  };
  if (key !== undefined) message[definition.key!.field] = key;
  return message as unknown as Envelope;
}
