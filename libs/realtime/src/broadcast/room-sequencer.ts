import { Injectable } from '@nestjs/common';

/**
 * The per-room `seq` counter: one more for every message a room is sent, so a client sees
 * a gap. A room's count starts again at 1 once its last subscriber is gone.
 */
@Injectable()
export class RoomSequencer {
  private readonly lastSeq = new Map<string, number>();

  next(room: string): number {
    const seq = (this.lastSeq.get(room) ?? 0) + 1;
    this.lastSeq.set(room, seq);
    return seq;
  }

  /** The last seq the room was sent; 0 before its first message. */
  current(room: string): number {
    return this.lastSeq.get(room) ?? 0;
  }

  forget(room: string): void {
    this.lastSeq.delete(room);
  }

  /** How many rooms hold a count; rooms without subscribers hold none. */
  get size(): number {
    return this.lastSeq.size;
  }
}
