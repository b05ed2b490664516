import type { Channel, KlineInterval } from '../events/channels.js';
import type { RealtimeEventName, RealtimeEventPayloads } from '../events/event-catalogue.js';

/** What a client receives for every domain event; the Socket.IO event name is `event`. */
export interface Envelope<E extends RealtimeEventName = RealtimeEventName> {
  channel: Channel;
  event: E;
  /** The subscribed symbol (`all` for `tickers.update`); absent on private and system events. */
  symbol?: string;
  /** The kline interval, on `kline.update` only. */
  interval?: KlineInterval;
  /** One more for every message this room was sent; starts at 1 when the room gets its first subscriber. */
  seq: number;
  /** When the gateway sent it, in milliseconds since the epoch. */
  ts: number;
  /** The event's payload exactly as published. */
  data: RealtimeEventPayloads[E];
}
