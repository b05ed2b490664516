import { Logger, type INestApplicationContext } from '@nestjs/common';
import type { Namespace, Server, ServerOptions } from 'socket.io';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { RealtimeIoAdapter } from '../gateway/realtime-io.adapter.js';
import type { ReadinessCheck, ReadinessStatus } from '../lifecycle/readiness-check.js';
import { ReadinessRegistry } from '../lifecycle/readiness-check.js';
import { ConnectionGuard } from '../limits/connection-guard.service.js';
import type { SlotsRedisClient } from '../limits/connection-slots.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { busGroupLayout, userOfConnectionsRoom } from '../recovery/bus-groups.js';
import type {
  RedisRoomStreams,
  StreamCommandClient,
  StreamSubscriberClient,
} from '../recovery/redis-room-streams.js';
import { RoomStreams } from '../recovery/room-streams.service.js';
import { DeadManSwitch } from '../session/dead-man-switch.service.js';
import type { AnswersRedisClient } from '../requests/redis-request-answers.js';
import { RequestRelay } from '../requests/request-relay.service.js';
import type { PresenceRedisClient } from '../session/presence-scripts.js';
import { ClusterBus } from './cluster-bus.js';
import type { ClusterLink } from './cluster-link.js';
import { absorbRejections } from './rejection-absorbing-client.js';

export interface RedisClusterOptions {
  /** `redis://[[user]:password@]host:port[/db]`. */
  url: string;
  /** Redis 7 sharded pub/sub (SPUBLISH), for Redis Cluster deployments. Default false. */
  sharded?: boolean;
  /** How long cluster-wide requests (operator counts) wait for other instances (non-sharded). Default 2000 ms. */
  requestsTimeoutMs?: number;
  /**
   * Bus groups G (1 to 1024; default 1): the cluster bus (positions, history, the stream
   * channel) spread over G symbol groups and G user groups, each with its own hash tag
   * (`{realtime:/ws:s3}`, `{realtime:/ws:u5}`) so that a Redis Cluster's sharded pub/sub can
   * put them on different shards. A public room belongs to `s{crc32(symbol) % G}`, a private
   * room to `u{crc32(userId) % G}` (CRC-32 of the UTF-8 bytes), system alerts to `*`. An
   * instance listens to `*`, its symbol groups and the user groups of the users connected
   * to it. With 1 every key, channel and message is what it was before groups existed.
   * Every instance of a cluster must use the same G; changing it starts every room's stream
   * over (new epochs).
   */
  busGroups?: number;
  /**
   * The symbol groups (0 to G-1) this instance listens to; default all. For an instance
   * pool that the load balancer routes by symbol group: a `subscribe` to a symbol of another
   * group is refused with `WRONG_INSTANCE`. Needs `busGroups` above 1.
   */
  busSymbolGroups?: readonly number[];
  /** How long a user group stays subscribed after its last user here left. Default 30000 ms. */
  busUserGroupLingerMs?: number;
}

/** How long a user group stays subscribed after its last connection here left, by default. */
const USER_GROUP_LINGER_MS = 30_000;

interface RedisClient {
  isReady: boolean;
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy?(): void;
  disconnect?(): Promise<void>;
}

/**
 * Socket.IO's Redis adapter over the `redis` client, so many gateway instances act as one.
 * Both packages are loaded only when this adapter is used. `connect` also wires the
 * module to it: readiness, cluster-wide connection limits, the cluster bus, and the room
 * streams (positions and history shared by every instance).
 *
 * Redis may be away at start-up or at any time after: each instance then serves its own
 * clients, readiness says `redis: connecting`, its messages get positions of its own (a new
 * epoch: clients that come back are told), connection limits count on this instance alone, and nothing waits for Redis (the
 * publisher has no offline queue, so a command fails at once instead of holding a new
 * connection or piling up in memory). The clients reconnect and resubscribe by themselves.
 */
export class RedisIoAdapter extends RealtimeIoAdapter implements ReadinessCheck, ClusterLink {
  readonly name = 'redis';
  private readonly redisLogger = new Logger('Redis');
  private clients: RedisClient[] = [];
  private adapterConstructor: ((namespace: unknown) => unknown) | undefined;
  private lastProblem: string | undefined;
  private readonly metrics: RealtimeMetrics;
  private streams: RoomStreams | undefined;
  private roomStreams: RedisRoomStreams | undefined;
  private namespace: string | undefined;

  constructor(private readonly application: INestApplicationContext) {
    super(application);
    this.metrics = application.get(RealtimeMetrics);
  }

  async connect(options: RedisClusterOptions): Promise<void> {
    // Checked before anything connects: a wrong group count is a configuration mistake.
    const layout = busGroupLayout(options.busGroups, options.busSymbolGroups);
    const lingerMs = options.busUserGroupLingerMs ?? USER_GROUP_LINGER_MS;
    if (!Number.isFinite(lingerMs) || lingerMs < 0)
      throw new Error(`busUserGroupLingerMs must be a number of ms, got ${lingerMs}`);
    const [redis, redisAdapter] = await Promise.all([
      import('redis').catch(() => missing('redis')),
      import('@socket.io/redis-adapter').catch(() => missing('@socket.io/redis-adapter')),
    ]);
    const socket = {
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 3000),
    };
    const pub = redis.createClient({
      url: options.url,
      socket,
      disableOfflineQueue: true,
    }) as unknown as RedisClient;
    // The subscriber keeps its queue: its (re)subscriptions must reach Redis once it is back.
    const sub = redis.createClient({ url: options.url, socket }) as unknown as RedisClient;
    this.clients = [pub, sub];
    const guarded: RedisClient[] = [];
    for (const [role, client] of [
      ['publisher', pub],
      ['subscriber', sub],
    ] as const) {
      client.on('error', (error) => this.problem(`${role}: ${(error as Error).message}`));
      client.on('ready', () => this.recovered(role));
      // Not awaited: the gateway starts without Redis and the clients keep retrying.
      client.connect().catch((error: Error) => this.problem(`${role}: ${error.message}`));
      guarded.push(absorbRejections(client, () => this.metrics.redisCommandFailed(role)));
    }
    const [guardedPub, guardedSub] = guarded;
    this.adapterConstructor = options.sharded
      ? redisAdapter.createShardedAdapter(guardedPub, guardedSub)
      : redisAdapter.createAdapter(guardedPub, guardedSub, {
          requestsTimeout: options.requestsTimeoutMs ?? 2000,
        });
    this.application.get(ReadinessRegistry).add(this);
    this.application.get(ClusterBus).useLink(this);
    this.application.get(ConnectionGuard).useRedis(guardedPub as unknown as SlotsRedisClient);
    this.application.get(DeadManSwitch).useRedis(guardedPub as unknown as PresenceRedisClient);
    this.application.get(RequestRelay).useRedis(guardedPub as unknown as AnswersRedisClient);
    const streams = this.application.get(RoomStreams);
    this.streams = streams;
    this.roomStreams = streams.useRedis(
      guardedPub as unknown as StreamCommandClient,
      sub as unknown as StreamSubscriberClient,
      layout.groups > 1
        ? { layout, sharded: options.sharded === true, userGroupLingerMs: lingerMs }
        : undefined,
    );
    this.namespace = this.application.get(RealtimeSettings).namespace;
  }

  get connected(): boolean {
    return this.clients.length > 0 && this.clients.every((client) => client.isReady);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options) as Server;
    if (this.adapterConstructor) server.adapter(this.adapterConstructor as never);
    if (this.namespace === '/') this.followUsers(server.sockets);
    else
      server.sockets.on('new_namespace', (namespace: Namespace) => {
        if (namespace.name === this.namespace) this.followUsers(namespace);
      });
    return server;
  }

  /**
   * Tells the room streams which users connect here: every signed-in connection joins its
   * user's room, so that room's creation and deletion are its first arrival and last leave.
   */
  private followUsers(namespace: Namespace): void {
    const streams = this.roomStreams;
    if (!streams) return;
    namespace.adapter.on('create-room', (room: string) => {
      const userId = userOfConnectionsRoom(room);
      if (userId !== undefined) streams.holdUser(userId);
    });
    namespace.adapter.on('delete-room', (room: string) => {
      const userId = userOfConnectionsRoom(room);
      if (userId !== undefined) streams.releaseUser(userId);
    });
  }

  readiness(): ReadinessStatus {
    return this.connected
      ? { ready: true, state: 'connected' }
      : { ready: false, state: 'connecting', problem: this.lastProblem };
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    for (const client of this.clients) {
      if (client.destroy) client.destroy();
      else await client.disconnect?.().catch(() => undefined);
    }
  }

  /** Logs once per outage: the clients report every failed reconnect attempt. */
  private problem(message: string): void {
    if (this.lastProblem === undefined)
      this.redisLogger.warn(
        `Redis unavailable (${message}): serving this instance's clients only; retrying`,
      );
    this.lastProblem = message;
  }

  private recovered(role: string): void {
    if (this.lastProblem === undefined || !this.connected) return;
    this.redisLogger.log(`Redis connected again (${role} last): cluster delivery resumed`);
    this.lastProblem = undefined;
    this.streams?.redisReconnected();
  }
}

function missing(name: string): never {
  throw new Error(`${name} is not installed: npm install redis @socket.io/redis-adapter`);
}
