import { ALL_SYMBOLS, type Channel, type KlineInterval } from '../events/channels.js';
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
   * The message's place in its room's stream: one more for every message, the same on every
   * instance. A replayed message carries the room's current offset, so the next live one is
   * +1. On order books a jump also marks updates held back for an upstream hole (the next
   * snapshot follows).
   */
  offset: number;
  /**
   * Names the stream `offset` counts in; it changes when the room's stream was reset (its
   * history lost, or an instance served it alone while Redis was away). Send both back as
   * `since` when subscribing again.
   */
  epoch: string;
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
  offset: number,
  epoch: string,
  ts: number,
  data: unknown,
  replay?: true,
): Envelope {
  const message: Record<string, unknown> = {
    channel: definition.channel,
    event: definition.event,
    symbol,
    offset,
    epoch,
    ts,
    replay,
    data,
  };
  if (key !== undefined) message[definition.key!.field] = key;
  return message as unknown as Envelope;
}

/**
 * The envelope of a room message of `definition`: the symbol and key come from its payload
 * (`all` on `ticker:all`; none on private and system events).
 */
export function roomEnvelope(
  definition: CatalogueEvent,
  data: Record<string, unknown>,
  offset: number,
  epoch: string,
  ts: number,
  replay?: true,
): Envelope {
  let symbol: string | undefined;
  if (definition.routing === 'symbol' || definition.routing === 'symbolKey')
    symbol = data.symbol as string;
  else if (definition.routing === 'allSymbols') symbol = ALL_SYMBOLS;
  const key = definition.key ? String(data[definition.key.field]) : undefined;
  return envelope(definition, symbol, key, offset, epoch, ts, data, replay);
}
