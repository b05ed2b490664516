import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { ServerEvent } from '../events/protocol-events.js';
import type { Envelope } from './envelope.js';
import { localRoom } from './local-room.js';

/** Most envelopes one `batch` message carries; a fuller room is sent at once and starts again. */
export const MAX_BATCH = 100;

interface PendingBatch {
  envelopes: Envelope[];
  /** Whether connections behind on their writes may skip it (market data the next replaces). */
  skippable: boolean;
}

/**
 * Collects what a batched room is sent during one turn of the event loop and sends it as one
 * `batch` message, encoded once for the whole room, when the turn ends. An event that comes
 * alone is sent alone in the same turn, so batching adds no delay; under load one frame
 * carries many updates. Only connections that asked for batches sit in batched rooms.
 */
@Injectable()
export class MessageBatcher implements OnModuleDestroy {
  private readonly pending = new Map<string, PendingBatch>();
  private server: Namespace | undefined;
  private flushScheduled: NodeJS.Immediate | undefined;

  attach(server: Namespace): void {
    this.server = server;
  }

  add(room: string, envelope: Envelope, skippable: boolean): void {
    let batch = this.pending.get(room);
    if (!batch) {
      batch = { envelopes: [], skippable };
      this.pending.set(room, batch);
      this.flushScheduled ??= setImmediate(this.flushAll);
    }
    batch.envelopes.push(envelope);
    if (batch.envelopes.length >= MAX_BATCH) this.flush(room);
  }

  /** Sends what `room` collected so far, before a new member joins and gets its replay. */
  flush(room: string): void {
    const batch = this.pending.get(room);
    if (!batch) return;
    this.pending.delete(room);
    if (this.server)
      localRoom(this.server, room, batch.skippable).emit(ServerEvent.Batch, batch.envelopes);
  }

  onModuleDestroy(): void {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.pending.clear();
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = undefined;
    for (const room of this.pending.keys()) this.flush(room);
  };
}
