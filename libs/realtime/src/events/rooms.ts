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

const BATCHED = '|batched';

/** The twin of a subscription room for the connections that take its messages in batches. */
export function batchedRoom(room: string): string {
  return room + BATCHED;
}

/** The subscription room itself, for a room or its batched twin. */
export function subscriptionRoom(room: string): string {
  return room.endsWith(BATCHED) ? room.slice(0, -BATCHED.length) : room;
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
