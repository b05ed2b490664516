import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { ServerEvent } from '../events/protocol-events.js';
import { closeForCause } from '../gateway/connection-release.js';
import { ReadinessRegistry, type ReadinessCheck, type ReadinessStatus } from './readiness-check.js';

const BATCHES = 20;
/** How often the drain looks whether every client has left by itself. */
const EMPTY_CHECK_MS = 50;

/**
 * Graceful shutdown of the WebSocket side: readiness turns false at once, new connections
 * are refused, every client is told `server.shutdown { reconnectAfterMs }` (spread, so they
 * do not all reconnect elsewhere at the same moment), and the rest are closed in batches
 * within the drain time.
 */
@Injectable()
export class ConnectionDrain implements ReadinessCheck {
  readonly name = 'draining';
  private readonly logger = new Logger('Drain');
  private server: Namespace | undefined;
  private drainingSince: number | undefined;

  constructor(@Inject(ReadinessRegistry) readiness: ReadinessRegistry) {
    readiness.add(this);
  }

  attach(server: Namespace): void {
    this.server = server;
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  readiness(): ReadinessStatus {
    return this.draining ? { ready: false, state: 'draining' } : { ready: true, state: 'serving' };
  }

  /** Resolves once every local connection is closed, within about `drainMs`. */
  async drain(drainMs: number): Promise<void> {
    if (this.draining || !this.server) return;
    this.drainingSince = Date.now();
    const sockets = [...this.server.sockets.values()];
    this.logger.log(`Draining ${sockets.length} connections within ${drainMs} ms`);
    for (const socket of sockets) {
      socket.emit(ServerEvent.ServerShutdown, {
        reconnectAfterMs: Math.floor(Math.random() * (drainMs / 2)),
      });
    }
    // Up to half the time for clients to leave by themselves, the other half to close the
    // rest; no waiting once everyone has gone.
    await this.untilEmpty(Date.now() + drainMs / 2);
    const remaining = [...this.server.sockets.values()];
    const perBatch = Math.ceil(remaining.length / BATCHES);
    for (let i = 0; i < remaining.length; i += perBatch) {
      // Told `server.shutdown` already; one that does not read is not waited for either.
      for (const socket of remaining.slice(i, i + perBatch)) closeForCause(socket);
      await sleep(drainMs / 2 / BATCHES);
    }
    this.logger.log(`Drained in ${Date.now() - this.drainingSince} ms`);
  }

  private async untilEmpty(deadline: number): Promise<void> {
    while (this.server!.sockets.size > 0 && Date.now() < deadline)
      await sleep(Math.min(EMPTY_CHECK_MS, deadline - Date.now()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
