import type { Namespace } from 'socket.io';
import { SLOW_CONSUMERS_ROOM } from '../limits/connection-guard.service.js';

/**
 * This instance's members of `room`: every instance delivers the events it gets to its own
 * clients. With `skippable` (market data the next message replaces) connections behind on
 * their writes are left out.
 */
export function localRoom(
  server: Namespace,
  room: string,
  skippable: boolean,
): ReturnType<Namespace['to']> {
  return skippable && server.adapter.rooms.has(SLOW_CONSUMERS_ROOM)
    ? server.local.to(room).except(SLOW_CONSUMERS_ROOM)
    : server.local.to(room);
}
