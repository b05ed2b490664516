import { Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { Adapter } from 'socket.io-adapter';

/** The cluster channel's event names; no client can send these (they are server-side only). */
const BUS_EVENT = 'realtime:event';
const STATS_REQUEST = 'realtime:stats';

export type ClusterEventHandler = (event: string, data: unknown) => void;

/** One instance's counts, for operators. */
export interface InstanceStats {
  instanceId: string;
  connections: number;
  subscriptions: Record<string, number>;
}

/**
 * Carries every domain event that entered one instance to all the others, over the
 * Socket.IO adapter's own cluster channel (Redis when configured). Each instance then
 * delivers it to its local rooms, so every instance keeps the whole market state (order
 * books, last values) and its own gap-free `seq`. With the in-memory adapter (one
 * instance) it does nothing.
 */
@Injectable()
export class ClusterBus {
  private readonly logger = new Logger('Cluster');
  private server: Namespace | undefined;
  private clustered = false;

  attach(server: Namespace, onEvent: ClusterEventHandler, stats: () => InstanceStats): void {
    this.server = server;
    // The in-memory adapter is the base class itself; cluster adapters extend it.
    this.clustered = Object.getPrototypeOf(server.adapter).constructor !== Adapter;
    if (!this.clustered) return;
    server.on(BUS_EVENT, onEvent);
    server.on(STATS_REQUEST, (reply: (stats: InstanceStats) => void) => reply(stats()));
    this.logger.log(`Clustered through ${server.adapter.constructor.name}`);
  }

  get isClustered(): boolean {
    return this.clustered;
  }

  /** Sends an event to the other instances; nothing when alone. */
  publish(event: string, data: unknown): void {
    if (this.clustered) this.server!.serverSideEmit(BUS_EVENT, event, data);
  }

  /** Every other instance's counts (those that answer within the adapter's request timeout). */
  otherInstances(): Promise<InstanceStats[]> {
    if (!this.clustered) return Promise.resolve([]);
    return new Promise((resolve) => {
      // On a timeout the callback still gets the answers that came in time.
      this.server!.serverSideEmit(
        STATS_REQUEST,
        (_error: Error | null, responses: InstanceStats[]) => resolve(responses ?? []),
      );
    });
  }
}
