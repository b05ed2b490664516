import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Socket } from 'socket.io';
import { RealtimeSettings } from '../config/realtime-settings.js';
import type { ConnectionData } from '../gateway/connection-data.js';
import { AppWebSocketGateway } from '../gateway/app-websocket.gateway.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import {
  REALTIME_MODULE_OPTIONS,
  type RealtimeModuleOptions,
} from '../realtime.module-definition.js';
import { BackendNotifier } from './backend-notifier.js';
import { resolveDeadManSwitch, type ResolvedDeadManSwitch } from './dead-man-switch-options.js';
import { MemoryPresence } from './memory-presence.js';
import type { PresenceRedisClient } from './presence-scripts.js';
import { RedisPresence } from './redis-presence.js';
import {
  USER_DISCONNECTED_EVENT,
  type UserDisconnectedNotice,
} from './user-disconnected-notice.js';
import type { PresenceConnection, UserPresence } from './user-presence.js';

/** Longest a shutdown waits for notices still being delivered. */
const SHUTDOWN_DELIVERY_WAIT_MS = 5000;

/**
 * Cancel-on-disconnect. Watches the gateway's connections: a signed-in connection whose
 * handshake says `auth.cancelOnDisconnect: true` arms its user; when the user's last
 * connection (on any instance) has closed and that last close took an armed one, and no
 * connection of theirs opened within `graceMs`, the backend is told once across the
 * cluster: POST to `deadManSwitch.url` and `realtime.user.disconnected` on EventEmitter2,
 * both on the instance that fired. Off without the `deadManSwitch` option.
 */
@Injectable()
export class DeadManSwitch implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DeadManSwitch');
  /** The checked options; undefined when the switch is off. */
  readonly options: ResolvedDeadManSwitch | undefined;
  private redis: PresenceRedisClient | undefined;
  private presence: UserPresence | undefined;
  private readonly notifier: BackendNotifier | undefined;
  private stopped = false;

  constructor(
    @Inject(REALTIME_MODULE_OPTIONS) moduleOptions: RealtimeModuleOptions,
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(AppWebSocketGateway) private readonly gateway: AppWebSocketGateway,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
    @Inject(EventEmitter2) private readonly emitter: EventEmitter2,
  ) {
    this.options = resolveDeadManSwitch(moduleOptions.deadManSwitch);
    const { url, secret } = this.options ?? {};
    if (this.options && url !== undefined && secret !== undefined) {
      this.notifier = new BackendNotifier({
        url,
        secret,
        retries: this.options.retries,
        retryDelayMs: this.options.retryDelayMs,
        timeoutMs: this.options.timeoutMs,
        counted: (outcome) => metrics.deadManSwitch(outcome),
      });
    }
  }

  /** Counts users cluster-wide in Redis (the Redis adapter calls this with its publisher). */
  useRedis(client: PresenceRedisClient): void {
    this.redis = client;
  }

  onApplicationBootstrap(): void {
    const server = this.gateway.server;
    if (!this.options || !server) return;
    const { graceMs, heartbeatMs, instanceTimeoutMs } = this.options;
    const fire = (notice: UserDisconnectedNotice) => this.fire(notice);
    this.presence = this.redis
      ? new RedisPresence({
          client: this.redis,
          instanceId: this.settings.instanceId,
          // One hash tag for every key, should the Redis be a Redis Cluster.
          prefix: `{realtime:${this.settings.namespace}:presence}:`,
          graceMs,
          heartbeatMs,
          instanceTimeoutMs,
          fire,
          deferred: () => this.metrics.deadManSwitch('deferred'),
        })
      : new MemoryPresence(graceMs, fire);
    server.on('connection', (socket: Socket) => this.opened(socket));
    this.presence.start();
    this.logger.log(
      `Cancel-on-disconnect on: ${this.options.url ? `notices to ${this.options.url}` : 'notices on EventEmitter2 only'}, grace ${graceMs} ms, ${this.redis ? 'users counted cluster-wide in Redis' : "this instance's users only"}`,
    );
  }

  /** The presence in use (for tests and operators); undefined when the switch is off. */
  get userPresence(): UserPresence | undefined {
    return this.presence;
  }

  /** Deliveries to the backend still under way. */
  get deliveriesPending(): number {
    return this.notifier?.pending ?? 0;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.presence?.dispose();
    await this.notifier?.settled(SHUTDOWN_DELIVERY_WAIT_MS);
    this.notifier?.stop();
  }

  private opened(socket: Socket): void {
    const { userId } = socket.data as ConnectionData;
    // Closed already (in an earlier `connection` listener): its disconnect has been emitted.
    if (userId === null || userId === undefined || !socket.connected || this.stopped) return;
    const auth = socket.handshake.auth as { cancelOnDisconnect?: unknown } | undefined;
    const connection: PresenceConnection = {
      userId,
      connectionId: socket.id,
      armed: auth?.cancelOnDisconnect === true,
    };
    this.presence!.connected(connection);
    socket.once('disconnect', (reason: string) => {
      if (!this.stopped) this.presence!.disconnected(connection, reason, Date.now());
    });
  }

  private fire(notice: UserDisconnectedNotice): void {
    this.metrics.deadManSwitch('fired');
    this.logger.debug?.(`User ${notice.userId} gone (${notice.reason}): switch fired`);
    try {
      this.emitter.emit(USER_DISCONNECTED_EVENT, notice);
    } catch (error) {
      // A host listener's fault must not keep the backend from being told.
      this.logger.error(`A ${USER_DISCONNECTED_EVENT} listener failed: ${String(error)}`);
    }
    this.notifier?.send(notice);
  }
}
