import type { CatalogueEvent } from './catalogue-event.js';
import { ALL_SYMBOLS } from './channels.js';

/*
 * Room names are spelled only here. A symbol never contains ':' or '|' (the symbol rule
 * forbids them) and neither does a user id, so every name below is unambiguous.
 */

/** `{channel}:{symbol}`, or `{channel}:{symbol}:{key}` for channels keyed like klines. */
export function marketRoom(channel: string, symbol: string, key?: string): string {
  return key === undefined ? channel + ':' + symbol : channel + ':' + symbol + ':' + key;
}

export const TICKER_ALL_ROOM = marketRoom('ticker', ALL_SYMBOLS);

/** Every connection of one user, on every instance: `user:{userId}` (for operators). */
export function userConnectionsRoom(userId: string): string {
  return 'user:' + userId;
}

/*
 * A subscription room may have variants, each `{room}|{variant}`: its batched twin, and one
 * room per feed (rate and book depth) its subscribers chose. `|` never occurs in a room.
 */
const VARIANT = '|';
const BATCHED = VARIANT + 'batched';

/** The twin of a subscription room for the connections that take its messages in batches. */
export function batchedRoom(room: string): string {
  return room + BATCHED;
}

/**
 * The room of one feed of a subscription room: `{room}|{rate}` or `{room}|{rate}|d{depth}`
 * (e.g. `orderbook:BTCUSDT|250ms|d10`); the room itself for its plain (realtime, whole) feed.
 */
export function feedRoom(room: string, rate: string, depth?: number): string {
  if (depth === undefined) return rate === 'realtime' ? room : room + VARIANT + rate;
  return room + VARIANT + rate + VARIANT + 'd' + depth;
}

/** The subscription room itself, for a room or any of its variants (batched twin, feeds). */
export function subscriptionRoom(room: string): string {
  const variant = room.indexOf(VARIANT);
  return variant < 0 ? room : room.slice(0, variant);
}

/** The channel whose subscribers a room (or its batched twin) holds, or undefined for other rooms. */
export function channelOfRoom(batchedOrNot: string): string | undefined {
  const room = subscriptionRoom(batchedOrNot);
  const first = room.indexOf(':');
  if (first < 0) return undefined;
  const prefix = room.slice(0, first);
  if (prefix !== 'user') return prefix;
  const last = room.lastIndexOf(':');
  return last > first ? 'user.' + room.slice(last + 1) : undefined;
}

const USER_PREFIX = 'user.'.length;

/** `user.orders` -> `user:{userId}:orders`; the user id is always the verified token's. */
export function userRoom(userId: string, channel: string): string {
  return 'user:' + userId + ':' + channel.slice(USER_PREFIX);
}

/** The stream of events that go to every connection (`system.alert`); no client joins it. */
export const EVERYONE_ROOM = '*';

/** The room an accepted event of `definition` goes to. */
export function eventRoom(definition: CatalogueEvent, data: Record<string, unknown>): string {
  switch (definition.routing) {
    case 'symbol':
      return marketRoom(definition.channel, data.symbol as string);
    case 'symbolKey':
      return marketRoom(
        definition.channel,
        data.symbol as string,
        String(data[definition.key!.field]),
      );
    case 'allSymbols':
      return TICKER_ALL_ROOM;
    case 'user':
      return userRoom(String(data.userId), definition.channel);
    case 'everyone':
      return EVERYONE_ROOM;
  }
}
