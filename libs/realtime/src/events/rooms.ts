import {
  ALL_SYMBOLS,
  USER_CHANNELS,
  type KlineInterval,
  type MarketChannel,
  type UserChannel,
} from './channels.js';

/*
 * Room names are spelled only here. A symbol never contains ':' or '|' (the symbol rule
 * forbids them) and neither does a user id, so every name below is unambiguous.
 */

export function marketRoom(
  channel: MarketChannel,
  symbol: string,
  interval?: KlineInterval,
): string {
  return interval === undefined ? channel + ':' + symbol : channel + ':' + symbol + ':' + interval;
}

export const TICKER_ALL_ROOM = marketRoom('ticker', ALL_SYMBOLS);

const userRoomSuffix = new Map<UserChannel, string>(
  USER_CHANNELS.map((channel) => [channel, ':' + channel.slice('user.'.length)]),
);

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

/** `user.orders` -> `user:{userId}:orders`; the user id is always the verified token's. */
export function userRoom(userId: string, channel: UserChannel): string {
  return 'user:' + userId + userRoomSuffix.get(channel)!;
}
