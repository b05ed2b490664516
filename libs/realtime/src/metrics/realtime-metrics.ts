import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';

/** Where an event entered this instance. */
export type IngressLabel = 'emitter' | 'kafka' | 'http' | 'admin' | 'cluster';
export const INGRESS_LABELS: readonly IngressLabel[] = [
  'emitter',
  'kafka',
  'http',
  'admin',
  'cluster',
];

/**
 * The module's Prometheus metrics, on a registry of its own (merge it into yours, or serve
 * it as the standalone gateway does at /metrics). Label sets are bound once, so counting on
 * the hot path is an array lookup and an addition.
 */
@Injectable()
export class RealtimeMetrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({
    name: 'realtime_connections',
    help: 'Client connections open on this instance (Socket.IO and plain WebSocket)',
    registers: [this.registry],
  });

  private subscriptionSource: (() => Iterable<[channel: string, count: number]>) | undefined;

  readonly subscriptions = new Gauge({
    name: 'realtime_subscriptions',
    help: 'Subscriptions on this instance, by channel',
    labelNames: ['channel'],
    registers: [this.registry],
    collect: () => {
      this.subscriptions.reset();
      for (const [channel, count] of this.subscriptionSource?.() ?? [])
        this.subscriptions.set({ channel }, count);
    },
  });

  private readonly eventsIn = new Counter({
    name: 'realtime_events_in_total',
    help: 'Events that entered this instance, by ingress and event',
    labelNames: ['ingress', 'event'],
    registers: [this.registry],
  });

  private readonly messagesOut = new Counter({
    name: 'realtime_messages_out_total',
    help: 'Messages emitted to rooms (one per room, whatever its size), by channel',
    labelNames: ['channel'],
    registers: [this.registry],
  });

  private readonly rejected = new Counter({
    name: 'realtime_events_rejected_total',
    help: 'Events refused as invalid, by ingress and code',
    labelNames: ['ingress', 'code'],
    registers: [this.registry],
  });

  private readonly dropped = new Counter({
    name: 'realtime_events_dropped_total',
    help: 'Valid events not forwarded, by reason (order-book holes, stale updates, conflation); orderbook-crossed counts crossed snapshots, forwarded all the same',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  private readonly authFailures = new Counter({
    name: 'realtime_auth_failures_total',
    help: 'Refused tokens, by code',
    labelNames: ['code'],
    registers: [this.registry],
  });

  private readonly connectionsRefused = new Counter({
    name: 'realtime_connections_refused_total',
    help: 'Connections refused at the door by a limit (instance, ip, user, rate, ip_unjoined)',
    labelNames: ['limit'],
    registers: [this.registry],
  });

  private readonly messagesRefused = new Counter({
    name: 'realtime_messages_refused_total',
    help: 'Client messages refused by a limit, by code (RATE_LIMITED, SUBSCRIPTION_LIMIT)',
    labelNames: ['code'],
    registers: [this.registry],
  });

  private readonly closedByServer = new Counter({
    name: 'realtime_disconnects_total',
    help: 'Connections the server closed, by reason (rate_limited, slow_consumer, subscribe_deadline)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  private readonly slowConsumers = new Counter({
    name: 'realtime_slow_consumers_total',
    help: 'Times a connection went over the unsent-bytes bound (its conflatable market data is skipped)',
    registers: [this.registry],
  });

  private readonly clusterUnsent = new Counter({
    name: 'realtime_cluster_events_unsent_total',
    help: 'Events this instance positioned and delivered alone, under an epoch of its own, because Redis could not (the other instances miss them)',
    registers: [this.registry],
  });

  private readonly deadManSwitchOutcomes = new Counter({
    name: 'realtime_dead_man_switch_total',
    help: 'Cancel-on-disconnect, by outcome (fired: a last close fired here; delivered, retried, failed: its POST to the backend; deferred: a close that waited for Redis)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly requestOutcomes = new Counter({
    name: 'realtime_requests_total',
    help: "Client requests (the request command), by declared method (unknown for any other) and outcome (ok, refused: the backend said no, or the gateway's error code)",
    labelNames: ['method', 'outcome'],
    registers: [this.registry],
  });

  private readonly requestDurations = new Histogram({
    name: 'realtime_request_duration_seconds',
    help: 'From a request relayed to its backend to its answer, by method',
    labelNames: ['method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly redisFailures = new Counter({
    name: 'realtime_redis_command_failures_total',
    help: 'Redis commands that failed (Redis unreachable or timed out), by client (publisher, subscriber)',
    labelNames: ['client'],
    registers: [this.registry],
  });

  private readonly recoveries = new Counter({
    name: 'realtime_recoveries_total',
    help: 'Subscriptions with `since`, by channel and outcome (recovered, epoch_changed, too_old, history_off, unavailable)',
    labelNames: ['channel', 'outcome'],
    registers: [this.registry],
  });

  private readonly recoveredMessages = new Counter({
    name: 'realtime_recovered_messages_total',
    help: 'Missed messages sent to recovering subscriptions from history, by channel',
    labelNames: ['channel'],
    registers: [this.registry],
  });

  private historySource: (() => number) | undefined;

  readonly historyMessages: Gauge = new Gauge({
    name: 'realtime_history_messages',
    help: 'Messages held in the in-memory room history of this instance (clustered, history lives in Redis)',
    registers: [this.registry],
    collect: (): void => {
      this.historyMessages.set(this.historySource?.() ?? 0);
    },
  });

  readonly deliveryLatency = new Histogram({
    name: 'realtime_delivery_latency_seconds',
    help: 'From the event timestamp (data.timestamp) to its emit on this instance',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly eventsInBound = new Map<string, Map<string, Counter.Internal>>();
  private readonly messagesOutBound = new Map<string, Counter.Internal>();

  /** Labels are the merged catalogue's events and channels, so no other value can appear. */
  constructor(@Inject(RealtimeCatalogue) catalogue: RealtimeCatalogue) {
    collectDefaultMetrics({ register: this.registry, prefix: 'realtime_' });
    for (const ingress of INGRESS_LABELS) {
      const byEvent = new Map<string, Counter.Internal>();
      for (const { event } of catalogue.events())
        byEvent.set(event, this.eventsIn.labels(ingress, event));
      this.eventsInBound.set(ingress, byEvent);
    }
    for (const { name } of catalogue.channels()) {
      this.messagesOutBound.set(name, this.messagesOut.labels(name));
    }
  }

  /** Where the subscription gauge reads its counts when scraped. */
  countSubscriptionsWith(source: () => Iterable<[channel: string, count: number]>): void {
    this.subscriptionSource = source;
  }

  eventIn(ingress: IngressLabel, event: string): void {
    this.eventsInBound.get(ingress)!.get(event)?.inc();
  }

  messageOut(channel: string): void {
    this.messagesOutBound.get(channel)!.inc();
  }

  /** Observes how long after its own `timestamp` (ms) an event went out, when it has a sane one. */
  delivered(timestamp: unknown, now: number): void {
    if (typeof timestamp !== 'number') return;
    const age = now - timestamp;
    if (age >= 0 && age < 3_600_000) this.deliveryLatency.observe(age / 1000);
  }

  rejection(ingress: string, code: string): void {
    this.rejected.inc({ ingress, code });
  }

  drop(reason: string): void {
    this.dropped.inc({ reason });
  }

  authFailure(code: string): void {
    this.authFailures.inc({ code });
  }

  refusedConnection(limit: string): void {
    this.connectionsRefused.inc({ limit });
  }

  refusedMessage(code: string): void {
    this.messagesRefused.inc({ code });
  }

  serverClosed(reason: string): void {
    this.closedByServer.inc({ reason });
  }

  slowConsumer(): void {
    this.slowConsumers.inc();
  }

  clusterEventsUnsent(events: number): void {
    this.clusterUnsent.inc(events);
  }

  /** Where the history gauge reads its count when scraped. */
  countHistoryWith(source: () => number): void {
    this.historySource = source;
  }

  recovery(channel: string, outcome: string, messages: number): void {
    this.recoveries.inc({ channel, outcome });
    if (messages > 0) this.recoveredMessages.inc({ channel }, messages);
  }

  deadManSwitch(outcome: 'fired' | 'delivered' | 'retried' | 'failed' | 'deferred'): void {
    this.deadManSwitchOutcomes.inc({ outcome });
  }

  /** `method` is a declared method or `unknown`; `outcome` is `ok`, `refused` or a gateway code. */
  request(method: string, outcome: string): void {
    this.requestOutcomes.inc({ method, outcome });
  }

  requestAnswered(method: string, seconds: number): void {
    this.requestDurations.observe({ method }, seconds);
  }

  redisCommandFailed(client: string): void {
    this.redisFailures.inc({ client });
  }
}
