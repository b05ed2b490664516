import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { RealtimeSettings } from '../config/realtime-settings.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { EVERYONE_ROOM, TICKER_ALL_ROOM, batchedRoom } from '../events/rooms.js';
import { SubscriberFeeds } from '../feeds/subscriber-feeds.service.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { MemoryRoomLogs } from './memory-room-logs.js';
import { NO_HISTORY, channelHistories, type ChannelHistory } from './recovery-options.js';
import {
  RedisRoomStreams,
  type OpenRequest,
  type OpenedCallback,
  type RoomStreamBus,
  type StreamCommandClient,
  type StreamDelivery,
  type StreamSubscriberClient,
  type UnpositionedMessage,
} from './redis-room-streams.js';
import type { RoomOpening, StreamPosition } from './stream-position.js';

type Payload = Record<string, unknown>;

/** How often the in-memory history drops what its bounds no longer allow. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * Every room's stream: gives each message its position (`offset`, `epoch`), keeps each
 * channel's history, and opens subscriptions (`since`) against it. Alone, everything lives
 * in this process; clustered (`useRedis`), in Redis, shared by every instance. Either way a
 * message reaches `deliver` once per instance, in its room's offset order.
 */
@Injectable()
export class RoomStreams implements OnModuleDestroy {
  private readonly memory: MemoryRoomLogs;
  private readonly histories: ReadonlyMap<string, ChannelHistory>;
  private readonly sweeper: NodeJS.Timeout;
  private server: Namespace | undefined;
  private deliver: StreamDelivery = () => undefined;
  private redis: RedisRoomStreams | undefined;
  /**
   * Rooms of the gateway's own digests (`ticker:all`): each instance builds them, so each
   * positions them itself, clustered or not.
   */
  private readonly localRooms = new Set<string>();

  constructor(
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RealtimeCatalogue) private readonly catalogue: RealtimeCatalogue,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
    @Inject(SubscriberFeeds) private readonly feeds: SubscriberFeeds,
  ) {
    const { maxMemoryMessages, positionTtlMs } = settings.recovery;
    this.histories = channelHistories(settings.recovery, catalogue.channels());
    for (const definition of catalogue.events())
      if (definition.builtByGateway && definition.routing === 'allSymbols')
        this.localRooms.add(TICKER_ALL_ROOM);
    const ages = [...this.histories.values()].filter((h) => h.size > 0).map((h) => h.ageMs);
    this.memory = new MemoryRoomLogs(
      maxMemoryMessages,
      positionTtlMs,
      ages.length > 0 ? Math.min(...ages) : positionTtlMs,
      (room) => this.hasMembers(room),
    );
    this.sweeper = setInterval(() => this.memory.sweep(Date.now()), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    metrics.countHistoryWith(() => this.memory.messages);
  }

  /** Where positioned messages go, and whose rooms say who listens here. */
  attach(server: Namespace, deliver: StreamDelivery): void {
    this.server = server;
    this.deliver = deliver;
  }

  /**
   * Shares streams and history through Redis (the Redis adapter calls this), spread over
   * bus groups when `bus` has more than one; the adapter tells the streams returned which
   * users connect here.
   */
  useRedis(
    pub: StreamCommandClient,
    sub: StreamSubscriberClient,
    bus?: Omit<RoomStreamBus, 'namespace'>,
  ): RedisRoomStreams {
    this.redis = new RedisRoomStreams(pub, sub, {
      instanceId: this.settings.instanceId,
      // One hash slot for every key a script touches, should the Redis be a Redis Cluster.
      prefix: `{realtime:${this.settings.namespace}}:`,
      bus: bus && { ...bus, namespace: this.settings.namespace },
      positionTtlMs: this.settings.recovery.positionTtlMs,
      catalogue: this.catalogue,
      deliver: (...args) => this.deliver(...args),
      positionLocally: (messages) => this.positionLocally(messages),
      openLocally: (request) => this.openLocally(request, true),
    });
    this.redis.start();
    return this.redis;
  }

  /**
   * The bus group of a room this instance does not serve (a symbol routed to another
   * instance pool), or undefined when it serves the room.
   */
  unservedGroup(room: string): string | undefined {
    return this.redis?.unservedGroup(room);
  }

  /** Whether rooms are shared with other instances. */
  get clustered(): boolean {
    return this.redis !== undefined;
  }

  /** Back from a Redis outage: streams positioned here alone end, Redis's go on. */
  redisReconnected(): void {
    this.redis?.reconnected();
    this.memory.clear(this.localRooms);
  }

  historyOf(channel: string): ChannelHistory {
    return this.histories.get(channel) ?? NO_HISTORY;
  }

  /** Takes one accepted message into its room's stream. */
  append(definition: CatalogueEvent, room: string, data: Payload): void {
    const ts = Date.now();
    const history = this.historyOf(definition.channel);
    // Clustered, even while Redis is away: the shared stream decides, in order, what this
    // instance positions alone.
    if (this.redis && !this.localRooms.has(room))
      return this.redis.append(definition, room, history, data, ts);
    this.appendLocally(definition, room, history, data, ts);
  }

  /**
   * Finds the room's position just before what a new subscriber gets, and what a client
   * `since` missed, and calls `opened` with it: at once alone; clustered once Redis answered
   * (bounded), in the very turn where no later message of the room has been delivered yet,
   * so `opened` must join the room before it returns (not in a promise's later turn).
   * `withoutHistory`: a `since` is answered as if the channel kept none (the current state
   * serves it).
   */
  open(
    room: string,
    channel: string,
    since: StreamPosition | undefined,
    opened: OpenedCallback,
    withoutHistory = false,
  ): void {
    const history = withoutHistory ? NO_HISTORY : this.historyOf(channel);
    const request: OpenRequest = { room, history, since };
    if (this.redis && !this.localRooms.has(room)) return this.redis.open(request, opened);
    opened(this.openLocally(request, false));
  }

  /** A room nobody here listens to any more: a room without history starts over next time. */
  forget(room: string): void {
    this.memory.forget(room);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.redis?.dispose();
  }

  private appendLocally(
    definition: CatalogueEvent,
    room: string,
    history: ChannelHistory,
    data: Payload,
    ts: number,
  ): void {
    // Nobody listens and nothing is kept: no position to count (the state still updates).
    if (history.size === 0 && !this.hasMembers(room))
      return this.deliver(definition, room, data, 0, '', ts, false);
    const log = this.memory.append(room, history, definition, data, ts);
    this.deliver(definition, room, data, log.offset, log.epoch, ts, false);
  }

  private positionLocally(messages: readonly UnpositionedMessage[]): void {
    this.metrics.clusterEventsUnsent(messages.length);
    for (const { definition, room, history, data, ts } of messages)
      this.appendLocally(definition, room, history, data, ts);
  }

  /**
   * Opens against this process's logs. Clustered, these hold only what this instance
   * positioned alone, so a `since` from the shared stream cannot be served: `unavailable`.
   */
  private openLocally(request: OpenRequest, redisAway: boolean): RoomOpening {
    const opening = this.memory.open(request.room, request.history, request.since, Date.now());
    if (redisAway && opening.failure === 'epoch_changed')
      return { position: opening.position, failure: 'unavailable' };
    return opening;
  }

  private hasMembers(room: string): boolean {
    if (room === EVERYONE_ROOM) return true;
    const rooms = this.server?.adapter.rooms;
    if (rooms === undefined) return false;
    return rooms.has(room) || rooms.has(batchedRoom(room)) || this.feeds.follows(room);
  }
}
