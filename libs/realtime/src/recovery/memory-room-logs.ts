import { randomBytes } from 'node:crypto';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import type { ChannelHistory } from './recovery-options.js';
import type { RoomOpening, StoredMessage, StreamPosition } from './stream-position.js';

/** Most rooms whose position is kept in memory; the least recently written go first. */
export const MAX_MEMORY_ROOMS = 100_000;

/** One room's stream on this instance: its position and, when history is on, its tail. */
export class RoomLog implements StreamPosition {
  offset = 0;
  lastWrite: number;
  readonly messages: StoredMessage[] = [];

  constructor(
    readonly room: string,
    readonly epoch: string,
    readonly history: ChannelHistory,
    now: number,
  ) {
    this.lastWrite = now;
  }

  /** Drops what is older than the history keeps; returns how many went. */
  trimByAge(now: number): number {
    const oldest = now - this.history.ageMs;
    let dropped = 0;
    while (this.messages.length > 0 && this.messages[0]!.ts < oldest) {
      this.messages.shift();
      dropped++;
    }
    return dropped;
  }
}

/** A fresh epoch: unique across restarts and instances, short, letters and digits only. */
export function newEpoch(): string {
  return Date.now().toString(36) + randomBytes(4).toString('hex');
}

/**
 * Room streams kept in this process: the single instance's, and each instance's own while
 * Redis is away. Bounded three ways: per room by its channel's history (size and age), over
 * all rooms by `maxMessages` (the least recently written rooms lose theirs first), and in
 * rooms by `MAX_MEMORY_ROOMS`; a position outlives its messages by `positionTtlMs`.
 */
export class MemoryRoomLogs {
  /** In order of last write, oldest first: what the sweep walks. */
  private readonly logs = new Map<string, RoomLog>();
  private messageCount = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly positionTtlMs: number,
    /** The shortest history age of any channel: rooms written since then need no sweep. */
    private readonly shortestAgeMs: number,
    private readonly hasMembers: (room: string) => boolean,
  ) {}

  /** Gives a message the room's next offset, and keeps it when the channel has history. */
  append(
    room: string,
    history: ChannelHistory,
    definition: CatalogueEvent,
    data: Record<string, unknown>,
    ts: number,
  ): RoomLog {
    let log = this.logs.get(room);
    if (log) this.logs.delete(room);
    else log = new RoomLog(room, newEpoch(), history, ts);
    this.logs.set(room, log);
    log.lastWrite = ts;
    log.offset++;
    if (history.size > 0) {
      log.messages.push({ definition, data, offset: log.offset, ts });
      this.messageCount++;
      if (log.messages.length > history.size) {
        log.messages.shift();
        this.messageCount--;
      }
      this.messageCount -= log.trimByAge(ts);
    }
    return log;
  }

  /** The room's position (a fresh stream when it has none) and what a client `since` missed. */
  open(
    room: string,
    history: ChannelHistory,
    since: StreamPosition | undefined,
    now: number,
  ): RoomOpening {
    let log = this.logs.get(room);
    if (!log) {
      log = new RoomLog(room, newEpoch(), history, now);
      this.logs.set(room, log);
    }
    const position: StreamPosition = { offset: log.offset, epoch: log.epoch };
    if (since === undefined) return { position };
    if (history.size === 0) return { position, failure: 'history_off' };
    if (since.epoch !== log.epoch || since.offset > log.offset)
      return { position, failure: 'epoch_changed' };
    this.messageCount -= log.trimByAge(now);
    const first = since.offset + 1;
    if (first > log.offset) return { position, missed: [] };
    const messages = log.messages;
    if (messages.length === 0 || messages[0]!.offset > first)
      return { position, failure: 'too_old' };
    return { position, missed: messages.slice(first - messages[0]!.offset) };
  }

  /** The room's position, if this process keeps one. */
  position(room: string): RoomLog | undefined {
    return this.logs.get(room);
  }

  /** Forgets a room without history once nobody here listens: its next stream is new. */
  forget(room: string): void {
    const log = this.logs.get(room);
    if (log && log.history.size === 0) this.logs.delete(room);
  }

  /** Forgets every room but those in `keep`. */
  clear(keep: ReadonlySet<string>): void {
    for (const [room, log] of this.logs) {
      if (keep.has(room)) continue;
      this.messageCount -= log.messages.length;
      this.logs.delete(room);
    }
  }

  /** Messages held over all rooms. */
  get messages(): number {
    return this.messageCount;
  }

  get rooms(): number {
    return this.logs.size;
  }

  /**
   * Applies the bounds to rooms nobody wrote to lately (a busy room is trimmed as it is
   * written): drops expired messages, then whole histories while over `maxMessages`, then
   * positions past their lifetime or over `MAX_MEMORY_ROOMS` that nobody here listens to.
   */
  sweep(now: number): void {
    for (const log of this.logs.values()) {
      if (log.lastWrite >= now - this.shortestAgeMs) break;
      this.messageCount -= log.trimByAge(now);
    }
    for (const log of this.logs.values()) {
      if (this.messageCount <= this.maxMessages) break;
      this.messageCount -= log.messages.length;
      log.messages.length = 0;
    }
    let excess = this.logs.size - MAX_MEMORY_ROOMS;
    for (const [room, log] of this.logs) {
      const expired = log.lastWrite < now - this.positionTtlMs;
      if (!expired && excess <= 0) break;
      if (this.hasMembers(room)) continue;
      this.messageCount -= log.messages.length;
      this.logs.delete(room);
      excess--;
    }
  }
}
