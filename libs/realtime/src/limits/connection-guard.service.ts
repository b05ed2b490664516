import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Namespace, Socket } from 'socket.io';
import { ExpiryScheduler } from '../auth/expiry-scheduler.js';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { ServerEvent } from '../events/protocol-events.js';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import type { ConnectionData } from '../gateway/connection-data.js';
import { closeForCause } from '../gateway/connection-release.js';
import { commandOf } from '../gateway/packet-decoder.js';
import { errorReply } from '../gateway/realtime-exception.filter.js';
import type { Ack } from '../gateway/reply.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { clientAddress } from './client-address.js';
import {
  MemorySlots,
  RedisSlots,
  type ConnectionSlots,
  type SlotsRedisClient,
} from './connection-slots.js';
import { newMessageBudget, spendMessage, type MessageBudget } from './message-rate.js';
import type { ResolvedLimits } from './realtime-limits-options.js';
import { UnjoinedConnections, type UnjoinedConnection } from './unjoined-connections.js';

/** Why the server closed a connection, as sent in `server.disconnect` and counted in metrics. */
export type CloseReason = 'rate_limited' | 'slow_consumer' | 'subscribe_deadline';

/** Connections over the unsent-bytes bound sit in this room; conflatable market data skips it. */
export const SLOW_CONSUMERS_ROOM = 'limits:slow';

/** What the guard keeps per connection, on `socket.data`. */
interface GuardData extends ConnectionData {
  address: string;
  budget: MessageBudget;
  slots: Array<[key: string, holder: string]>;
  slowSince?: number;
}

type Next = (error?: Error) => void;

/** What the guard reads of an Engine.IO connection when it opens. */
interface OpenedConnection extends UnjoinedConnection {
  request: IncomingMessage;
}

/**
 * Keeps one client from hurting the others: connection limits at the door (and before it,
 * Engine.IO connections that have not joined yet, per address), a message rate
 * per connection, a subscription limit, a bound on unsent bytes (slow consumers) and an
 * optional deadline to subscribe. One timer for deadlines and one for the slow-consumer
 * sweep, whatever the number of connections.
 */
@Injectable()
export class ConnectionGuard implements OnModuleDestroy {
  private readonly limits: ResolvedLimits;
  private slots: ConnectionSlots = new MemorySlots();
  private connectionRate: RateLimiterAbstract | undefined;
  private readonly deadlines = new ExpiryScheduler<Socket>((socket) =>
    this.close(socket, 'subscribe_deadline'),
  );
  private sweep: NodeJS.Timeout | undefined;
  private server: Namespace | undefined;
  private readonly unjoined: UnjoinedConnections;

  constructor(
    @Inject(RealtimeSettings) settings: RealtimeSettings,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
  ) {
    this.limits = settings.limits;
    this.unjoined = new UnjoinedConnections(this.limits.maxConnectionsPerIp);
    if (this.limits.newConnectionsPerIpPerMinute > 0) {
      this.connectionRate = new RateLimiterMemory({
        keyPrefix: 'realtime-connect',
        points: this.limits.newConnectionsPerIpPerMinute,
        duration: 60,
      });
    }
  }

  /** Counts cluster-wide in Redis from now on (connections per address and user, connection rate). */
  useRedis(client: SlotsRedisClient & object): void {
    this.slots = new RedisSlots(
      client,
      this.slots,
      'realtime:slots:',
      this.limits.connectionSlotLifetimeMs,
    );
    if (this.limits.newConnectionsPerIpPerMinute > 0) {
      this.connectionRate = new RateLimiterRedis({
        storeClient: client,
        useRedisPackage: true,
        keyPrefix: 'realtime-connect',
        points: this.limits.newConnectionsPerIpPerMinute,
        duration: 60,
        insuranceLimiter: this.connectionRate as RateLimiterMemory,
      });
    }
  }

  attach(server: Namespace): void {
    this.server = server;
    server.server.engine.on('connection', this.engineOpened);
    const every = Math.max(100, Math.min(1000, this.limits.slowConsumerGraceMs / 4));
    this.sweep = setInterval(() => this.sweepSlowConsumers(), every);
    this.sweep.unref();
  }

  /**
   * At the Engine.IO handshake, before any namespace: an address may have at most
   * `maxConnectionsPerIp` connections on this instance that have not joined yet.
   */
  readonly admitsHandshake = (request: IncomingMessage): boolean => {
    if (this.unjoined.admits(this.requestAddress(request))) return true;
    this.metrics.refusedConnection('ip_unjoined');
    return false;
  };

  /** Connections from an address that have not joined yet (for tests and operators). */
  unjoinedFrom(address: string): number {
    return this.unjoined.waiting(address);
  }

  private readonly engineOpened = (conn: OpenedConnection): void => {
    this.unjoined.opened(conn, this.requestAddress(conn.request));
  };

  private requestAddress(request: IncomingMessage): string {
    const handshake = { headers: request.headers, address: request.socket.remoteAddress ?? '' };
    return clientAddress(handshake as Socket['handshake'], this.limits.trustProxy);
  }

  /** First at the door, before any token is verified: the instance limit and the address's connection rate. */
  readonly atTheDoor = (socket: Socket, next: Next): void => {
    const data = socket.data as GuardData;
    data.address = clientAddress(socket.handshake, this.limits.trustProxy);
    data.slots = [];
    const { maxConnections } = this.limits;
    if (maxConnections > 0 && this.server && this.server.sockets.size >= maxConnections) {
      return this.refuse(
        next,
        'instance',
        `this instance holds its maximum of ${maxConnections} connections`,
      );
    }
    if (!this.connectionRate) return next();
    this.connectionRate.consume(data.address).then(
      () => next(),
      (result: unknown) => {
        if (result instanceof RateLimiterRes) {
          return this.refuse(
            next,
            'rate',
            'too many new connections from your address; retry in a minute',
          );
        }
        next();
      },
    );
  };

  /** Last at the door, once the user is known: a slot for the address and one for the user. */
  readonly afterAuth = (socket: Socket, next: Next): void => {
    const data = socket.data as GuardData;
    void (async () => {
      const { maxConnectionsPerIp, maxConnectionsPerUser } = this.limits;
      if (
        maxConnectionsPerIp > 0 &&
        !(await this.take(data, 'ip:' + data.address, socket.id, maxConnectionsPerIp))
      ) {
        return this.refuse(
          next,
          'ip',
          `your address holds its maximum of ${maxConnectionsPerIp} connections`,
        );
      }
      if (
        data.userId !== null &&
        maxConnectionsPerUser > 0 &&
        !(await this.take(data, 'user:' + data.userId, socket.id, maxConnectionsPerUser))
      ) {
        this.giveBack(data);
        return this.refuse(
          next,
          'user',
          `your user holds its maximum of ${maxConnectionsPerUser} connections`,
        );
      }
      // The client may have gone while the slots were taken: it will never disconnect.
      if (socket.conn.readyState !== 'open') {
        this.giveBack(data);
        return next(new Error('client gone'));
      }
      next();
    })();
  };

  /** Called once a connection is established. */
  connected(socket: Socket): void {
    this.unjoined.joined(socket.conn as unknown as UnjoinedConnection);
    const data = socket.data as GuardData;
    data.budget = newMessageBudget(this.limits.messageBurst, Date.now());
    socket.use((packet, next) => this.inbound(socket, packet, next));
    if (this.limits.subscribeDeadlineMs > 0)
      this.deadlines.schedule(socket, Date.now() + this.limits.subscribeDeadlineMs);
  }

  /** Called when a connection subscribed to something. */
  subscribed(socket: Socket): void {
    this.deadlines.cancel(socket);
  }

  disconnected(socket: Socket): void {
    this.deadlines.cancel(socket);
    this.giveBack(socket.data as GuardData);
  }

  /** Whether another subscription fits on this connection (room names of subscriptions hold a ':'). */
  hasRoomForSubscription(socket: Socket): boolean {
    let subscriptions = 0;
    const { userId } = socket.data as ConnectionData;
    for (const room of socket.rooms) {
      if (room.includes(':') && room !== SLOW_CONSUMERS_ROOM && room !== 'user:' + userId)
        subscriptions++;
    }
    return subscriptions < this.limits.maxSubscriptionsPerConnection;
  }

  get maxSubscriptions(): number {
    return this.limits.maxSubscriptionsPerConnection;
  }

  /** Slots taken under a key (for tests and operators). */
  slotsTaken(key: string): Promise<number> {
    return this.slots.count(key);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
    this.deadlines.dispose();
    this.slots.dispose();
  }

  private inbound(socket: Socket, packet: unknown[], next: Next): void {
    const verdict = spendMessage(
      (socket.data as GuardData).budget,
      this.limits.messageRate,
      this.limits.messageBurst,
      this.limits.messageRefusalsBeforeDisconnect,
      Date.now(),
    );
    if (verdict === 'ok') return next();
    if (verdict === 'disconnect') return this.close(socket, 'rate_limited');
    this.metrics.refusedMessage(RealtimeErrorCode.RateLimited);
    const last = packet[packet.length - 1];
    const answer = errorReply(
      commandOf(packet[0], packet[1]).slice(0, 64),
      RealtimeErrorCode.RateLimited,
      `more than ${this.limits.messageRate} messages a second (burst ${this.limits.messageBurst}); this one was dropped`,
    );
    if (typeof last === 'function') (last as Ack)(answer);
    else socket.emit(ServerEvent.Error, answer);
  }

  private sweepSlowConsumers(): void {
    if (!this.server) return;
    const now = Date.now();
    const { slowConsumerMaxBytes, slowConsumerGraceMs } = this.limits;
    for (const socket of this.server.sockets.values()) {
      const data = socket.data as GuardData;
      const unsent = unsentBytes(socket);
      if (unsent <= slowConsumerMaxBytes) {
        if (data.slowSince !== undefined) {
          data.slowSince = undefined;
          socket.leave(SLOW_CONSUMERS_ROOM);
        }
      } else if (data.slowSince === undefined) {
        data.slowSince = now;
        socket.join(SLOW_CONSUMERS_ROOM);
        this.metrics.slowConsumer();
      } else if (now - data.slowSince > slowConsumerGraceMs) {
        this.close(socket, 'slow_consumer');
      }
    }
  }

  private close(socket: Socket, reason: CloseReason): void {
    this.metrics.serverClosed(reason);
    const code =
      reason === 'rate_limited' ? RealtimeErrorCode.RateLimited : RealtimeErrorCode.ConnectionLimit;
    closeForCause(socket, { event: ServerEvent.ServerDisconnect, payload: { code, reason } });
  }

  private async take(
    data: GuardData,
    key: string,
    holder: string,
    limit: number,
  ): Promise<boolean> {
    const taken = await this.slots.take(key, holder, limit);
    if (taken) data.slots.push([key, holder]);
    return taken;
  }

  private giveBack(data: GuardData): void {
    for (const [key, holder] of data.slots ?? []) this.slots.give(key, holder);
    if (data.slots) data.slots.length = 0;
  }

  private refuse(next: Next, limit: string, message: string): void {
    this.metrics.refusedConnection(limit);
    const refusal = new Error(message) as Error & { data: { code: string; message: string } };
    refusal.data = { code: RealtimeErrorCode.ConnectionLimit, message };
    next(refusal);
  }
}

/** Bytes written to a connection that have not reached the network yet. */
export function unsentBytes(socket: Socket): number {
  const conn = socket.conn as unknown as {
    writeBuffer?: Array<{ data?: unknown }>;
    transport?: { socket?: { bufferedAmount?: number } };
  };
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const packet of conn.writeBuffer ?? []) {
    const data = packet.data;
    bytes +=
      typeof data === 'string'
        ? data.length
        : ((data as { byteLength?: number } | undefined)?.byteLength ?? 0);
  }
  return bytes;
}
