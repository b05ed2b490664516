import { Logger, type INestApplicationContext } from '@nestjs/common';
import type { Server, ServerOptions } from 'socket.io';
import { RealtimeIoAdapter } from '../gateway/realtime-io.adapter.js';
import type { ReadinessCheck, ReadinessStatus } from '../lifecycle/readiness-check.js';

export interface RedisClusterOptions {
  /** `redis://[[user]:password@]host:port[/db]`. */
  url: string;
  /** Redis 7 sharded pub/sub (SPUBLISH), for Redis Cluster deployments. Default false. */
  sharded?: boolean;
  /** How long cluster-wide requests (operator counts) wait for other instances (non-sharded). Default 2000 ms. */
  requestsTimeoutMs?: number;
}

interface RedisClient {
  isReady: boolean;
  connect(): Promise<unknown>;
  duplicate(): RedisClient;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy?(): void;
  disconnect?(): Promise<void>;
}

/**
 * Socket.IO's Redis adapter over the `redis` client, so many gateway instances act as one.
 * Both packages are loaded only when this adapter is used. Start-up does not wait for Redis:
 * until it is reachable, readiness says so and each instance serves its own clients.
 */
export class RedisIoAdapter extends RealtimeIoAdapter implements ReadinessCheck {
  readonly name = 'redis';
  private readonly redisLogger = new Logger('Redis');
  private clients: RedisClient[] = [];
  private adapterConstructor: ((namespace: unknown) => unknown) | undefined;
  private lastProblem: string | undefined;

  constructor(app: INestApplicationContext) {
    super(app);
  }

  async connect(options: RedisClusterOptions): Promise<void> {
    const [redis, redisAdapter] = await Promise.all([
      import('redis').catch(() => missing('redis')),
      import('@socket.io/redis-adapter').catch(() => missing('@socket.io/redis-adapter')),
    ]);
    const pub = redis.createClient({
      url: options.url,
      socket: { reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 3000) },
    }) as unknown as RedisClient;
    const sub = pub.duplicate();
    this.clients = [pub, sub];
    for (const [role, client] of [
      ['publisher', pub],
      ['subscriber', sub],
    ] as const) {
      client.on('error', (error) => this.problem(`${role}: ${(error as Error).message}`));
      client.on('ready', () => this.recovered(role));
      // Not awaited: the gateway starts without Redis and the clients keep retrying.
      client.connect().catch((error: Error) => this.problem(`${role}: ${error.message}`));
    }
    this.adapterConstructor = options.sharded
      ? redisAdapter.createShardedAdapter(pub, sub)
      : redisAdapter.createAdapter(pub, sub, {
          requestsTimeout: options.requestsTimeoutMs ?? 2000,
        });
  }

  /** A client for ordinary commands (the publisher; the subscriber is in pub/sub mode). */
  get commandClient(): unknown {
    return this.clients[0];
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options) as Server;
    if (this.adapterConstructor) server.adapter(this.adapterConstructor as never);
    return server;
  }

  readiness(): ReadinessStatus {
    const ready = this.clients.length > 0 && this.clients.every((client) => client.isReady);
    return ready
      ? { ready, state: 'connected' }
      : { ready, state: 'connecting', problem: this.lastProblem };
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    for (const client of this.clients) {
      if (client.destroy) client.destroy();
      else await client.disconnect?.().catch(() => undefined);
    }
  }

  private problem(message: string): void {
    if (message !== this.lastProblem)
      this.redisLogger.warn(`Redis unavailable: ${message}; retrying`);
    this.lastProblem = message;
  }

  private recovered(role: string): void {
    if (this.lastProblem !== undefined) this.redisLogger.log(`Redis ${role} connected again`);
    if (this.clients.every((client) => client.isReady)) this.lastProblem = undefined;
  }
}

function missing(name: string): never {
  throw new Error(`${name} is not installed: npm install redis @socket.io/redis-adapter`);
}
