import { crc32 } from 'node:zlib';
import { EVERYONE_ROOM, TICKER_ALL_ROOM, userConnectionsRoom } from '../events/rooms.js';

/*
 * The cluster bus spread over groups: with `G` groups (`RedisClusterOptions.busGroups`) a
 * room's keys and channels carry its group's hash tag, so each group lives in one Redis
 * Cluster slot and sharded pub/sub can put groups on different shards. A room's group is
 * spelled only here:
 *   - public rooms `{channel}:{symbol}[:{key}]`: `s{crc32(symbol) % G}`;
 *   - private rooms `user:{userId}:{name}`: `u{crc32(userId) % G}`;
 *   - the everyone room and `ticker:all`: `*`, which every instance listens to.
 * With G = 1 there is one group, `''`, whose tag is today's `{realtime:{namespace}}`.
 * crc32 is CRC-32 (IEEE, as zlib) of the UTF-8 bytes, so a load balancer can route a symbol
 * or a user to its instance pool with the same arithmetic.
 */

/** Most groups a deployment may have. */
export const MAX_BUS_GROUPS = 1024;

/** The only group when the bus is not spread (G = 1): keys and channels as they always were. */
export const SINGLE_BUS_GROUP = '';

/** The group of the rooms every instance needs (system alerts, the all-tickers room). */
export const EVERYONE_BUS_GROUP = '*';

/** The group number (0..groups-1) of a symbol. */
export function symbolGroupNumber(symbol: string, groups: number): number {
  return crc32(symbol) % groups;
}

/** The group number (0..groups-1) of a user id. */
export function userGroupNumber(userId: string, groups: number): number {
  return crc32(userId) % groups;
}

/** `s{n}`: the name of symbol group `n`. */
export function symbolGroupName(group: number): string {
  return 's' + group;
}

/** `u{n}`: the name of user group `n`. */
export function userGroupName(group: number): string {
  return 'u' + group;
}

/** Whether a group (by name) is a user group: one an instance listens to only for its users. */
export function isUserGroup(group: string): boolean {
  return group.charCodeAt(0) === 117; // 'u'
}

const USER_ROOM = 'user:';

/**
 * The bus group of a stream room (see above); `SINGLE_BUS_GROUP` when `groups` is 1. Room
 * names are those of events/rooms.ts: a symbol and a user id never contain ':'.
 */
export function busGroupOfRoom(room: string, groups: number): string {
  if (groups === 1) return SINGLE_BUS_GROUP;
  if (room === EVERYONE_ROOM || room === TICKER_ALL_ROOM) return EVERYONE_BUS_GROUP;
  const first = room.indexOf(':');
  if (first < 0) return EVERYONE_BUS_GROUP;
  if (room.startsWith(USER_ROOM)) {
    const end = room.indexOf(':', USER_ROOM.length);
    const userId = room.slice(USER_ROOM.length, end < 0 ? undefined : end);
    return userGroupName(userGroupNumber(userId, groups));
  }
  const end = room.indexOf(':', first + 1);
  const symbol = room.slice(first + 1, end < 0 ? undefined : end);
  return symbolGroupName(symbolGroupNumber(symbol, groups));
}

/** The user whose connections room (`user:{userId}`) this is, or undefined for any other room. */
export function userOfConnectionsRoom(room: string): string | undefined {
  if (!room.startsWith(USER_ROOM) || room.indexOf(':', USER_ROOM.length) >= 0) return undefined;
  const userId = room.slice(USER_ROOM.length);
  return userId !== '' && userConnectionsRoom(userId) === room ? userId : undefined;
}

/**
 * The prefix of a group's keys and channels: `{realtime:/ws}:` for `SINGLE_BUS_GROUP`,
 * `{realtime:/ws:s3}:` for group s3. The braces are its hash tag: one slot per group.
 */
export function busGroupPrefix(namespace: string, group: string): string {
  return group === SINGLE_BUS_GROUP
    ? `{realtime:${namespace}}:`
    : `{realtime:${namespace}:${group}}:`;
}

/** How the bus is spread, checked. */
export interface BusGroupLayout {
  /** G: 1 for one channel (today's bus). */
  readonly groups: number;
  /** The symbol groups this instance listens to, ascending; every one unless restricted. */
  readonly symbolGroups: readonly number[];
  /** Whether `symbolGroups` leaves some out (an instance pool routed by symbol group). */
  readonly restricted: boolean;
}

/** Checks the options' group count and symbol groups; throws an Error naming the option. */
export function busGroupLayout(
  groups: number | undefined = 1,
  symbolGroups?: readonly number[],
): BusGroupLayout {
  if (!Number.isInteger(groups) || groups < 1 || groups > MAX_BUS_GROUPS)
    throw new Error(`busGroups must be an integer from 1 to ${MAX_BUS_GROUPS}, got ${groups}`);
  const all = Array.from({ length: groups }, (_, i) => i);
  if (symbolGroups === undefined) return { groups, symbolGroups: all, restricted: false };
  if (groups === 1) throw new Error('busSymbolGroups needs busGroups above 1');
  for (const group of symbolGroups)
    if (!Number.isInteger(group) || group < 0 || group >= groups)
      throw new Error(
        `busSymbolGroups entries must be integers from 0 to ${groups - 1}, got ${group}`,
      );
  const chosen = [...new Set(symbolGroups)].sort((a, b) => a - b);
  if (chosen.length === 0) throw new Error('busSymbolGroups must name at least one group');
  return { groups, symbolGroups: chosen, restricted: chosen.length < groups };
}
