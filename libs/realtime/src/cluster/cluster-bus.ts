import { Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { Adapter } from 'socket.io-adapter';
import type { ClusterLink } from './cluster-link.js';

/** The cluster channel's event name; no client can send it (it is server-side only). */
const STATS_REQUEST = 'realtime:stats';
/** Longer than the adapter's own request timeout, which answers with what came in time. */
const STATS_DEADLINE_MS = 10_000;

/** One instance's counts, for operators. */
export interface InstanceStats {
  instanceId: string;
  connections: number;
  subscriptions: Record<string, number>;
}

/**
 * Operator requests across the instances, over the Socket.IO adapter's own cluster channel
 * (Redis when configured): each instance's counts. Domain events travel through the room
 * streams (RoomStreams), not here. With the in-memory adapter (one instance) it asks nobody.
 */
@Injectable()
export class ClusterBus {
  private readonly logger = new Logger('Cluster');
  private server: Namespace | undefined;
  private clustered = false;
  private link: ClusterLink | undefined;

  /** Tells the bus whether the other instances are reachable (the Redis adapter does). */
  useLink(link: ClusterLink): void {
    this.link = link;
  }

  attach(server: Namespace, stats: () => InstanceStats): void {
    this.server = server;
    // The in-memory adapter is the base class itself; cluster adapters extend it.
    this.clustered = Object.getPrototypeOf(server.adapter).constructor !== Adapter;
    if (!this.clustered) return;
    server.on(STATS_REQUEST, (reply: (stats: InstanceStats) => void) => reply(stats()));
    this.logger.log(`Clustered through ${server.adapter.constructor.name}`);
  }

  get isClustered(): boolean {
    return this.clustered;
  }

  /** Every other instance's counts (those that answer within the adapter's request timeout). */
  otherInstances(): Promise<InstanceStats[]> {
    if (!this.clustered || (this.link && !this.link.connected)) return Promise.resolve([]);
    return new Promise((resolve) => {
      // The adapter never calls back when its first Redis command fails (it swallows the
      // error), so the wait is bounded here too: an operator's request never hangs.
      const gaveUp = setTimeout(() => resolve([]), STATS_DEADLINE_MS);
      // On a timeout the callback still gets the answers that came in time.
      this.server!.serverSideEmit(
        STATS_REQUEST,
        (_error: Error | null, responses: InstanceStats[]) => {
          clearTimeout(gaveUp);
          resolve(responses ?? []);
        },
      );
    });
  }
}
