import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { Adapter } from 'socket.io-adapter';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { ClusterLink } from './cluster-link.js';

/** The cluster channel's event names; no client can send these (they are server-side only). */
const BUS_EVENT = 'realtime:event';
const STATS_REQUEST = 'realtime:stats';
/** Longer than the adapter's own request timeout, which answers with what came in time. */
const STATS_DEADLINE_MS = 10_000;

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
  /** Events published in this turn of the event loop, flat: event, data, event, data... */
  private pending: unknown[] = [];
  private link: ClusterLink | undefined;

  constructor(@Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics) {}

  /** Tells the bus whether the other instances are reachable (the Redis adapter does). */
  useLink(link: ClusterLink): void {
    this.link = link;
  }

  attach(server: Namespace, onEvent: ClusterEventHandler, stats: () => InstanceStats): void {
    this.server = server;
    // The in-memory adapter is the base class itself; cluster adapters extend it.
    this.clustered = Object.getPrototypeOf(server.adapter).constructor !== Adapter;
    if (!this.clustered) return;
    server.on(BUS_EVENT, (batch: unknown[]) => {
      for (let i = 0; i < batch.length; i += 2) onEvent(batch[i] as string, batch[i + 1]);
    });
    server.on(STATS_REQUEST, (reply: (stats: InstanceStats) => void) => reply(stats()));
    this.logger.log(`Clustered through ${server.adapter.constructor.name}`);
  }

  get isClustered(): boolean {
    return this.clustered;
  }

  /**
   * Sends an event to the other instances; nothing when alone. Events of one turn of the
   * event loop travel as one Redis message, in order: a burst costs one PUBLISH, not one each.
   */
  publish(event: string, data: unknown): void {
    if (!this.clustered) return;
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending.push(event, data);
  }

  private readonly flush = (): void => {
    const batch = this.pending;
    this.pending = [];
    // Redis is away: this instance already delivered these to its own clients; the other
    // instances miss them (counted), and nothing is queued to replay a stale burst later.
    if (this.link && !this.link.connected)
      return this.metrics.clusterEventsUnsent(batch.length / 2);
    this.server!.serverSideEmit(BUS_EVENT, batch);
  };

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
