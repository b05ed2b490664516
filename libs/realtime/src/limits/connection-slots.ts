import { Logger } from '@nestjs/common';

/** Connection slots under a key (an address, a user), each held by one connection. */
export interface ConnectionSlots {
  /** Takes a slot for `holder` when fewer than `limit` are taken; false when full. */
  take(key: string, holder: string, limit: number): Promise<boolean>;
  give(key: string, holder: string): void;
  /** Slots taken under `key` (for tests and operators). */
  count(key: string): Promise<number>;
  dispose(): void;
}

/** One instance's slots, in memory. */
export class MemorySlots implements ConnectionSlots {
  private readonly held = new Map<string, Set<string>>();

  async take(key: string, holder: string, limit: number): Promise<boolean> {
    const holders = this.held.get(key) ?? new Set<string>();
    if (holders.size >= limit) return false;
    holders.add(holder);
    this.held.set(key, holders);
    return true;
  }

  give(key: string, holder: string): void {
    const holders = this.held.get(key);
    if (!holders) return;
    holders.delete(holder);
    if (holders.size === 0) this.held.delete(key);
  }

  async count(key: string): Promise<number> {
    return this.held.get(key)?.size ?? 0;
  }

  dispose(): void {
    this.held.clear();
  }
}

/** The part of a node-redis client the slots use. */
export interface SlotsRedisClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  zRem(key: string, member: string): Promise<unknown>;
  zAdd(
    key: string,
    members: { score: number; value: string }[],
    options?: { XX?: boolean },
  ): Promise<unknown>;
  pExpire(key: string, ms: number): Promise<unknown>;
  zRemRangeByScore(key: string, min: number | string, max: number | string): Promise<unknown>;
  zCard(key: string): Promise<number>;
}

const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

/**
 * Cluster-wide slots in Redis: a sorted set per key whose scores are expiry times. Each
 * instance refreshes its own holders every third of the lifetime, so the slots of a process
 * that died expire by themselves within `lifetimeMs`; counts never leak.
 */
export class RedisSlots implements ConnectionSlots {
  private readonly logger = new Logger('ConnectionLimits');
  private readonly mine = new Map<string, Set<string>>();
  private readonly heartbeat: NodeJS.Timeout;
  private warned = false;

  constructor(
    private readonly client: SlotsRedisClient,
    private readonly fallback: ConnectionSlots,
    private readonly prefix = 'realtime:slots:',
    private readonly lifetimeMs = 30_000,
  ) {
    this.heartbeat = setInterval(() => this.refresh(), lifetimeMs / 3);
    this.heartbeat.unref();
  }

  async take(key: string, holder: string, limit: number): Promise<boolean> {
    const now = Date.now();
    try {
      const taken = await this.client.eval(TAKE, {
        keys: [this.prefix + key],
        arguments: [
          String(now),
          String(now + this.lifetimeMs),
          holder,
          String(limit),
          String(this.lifetimeMs * 2),
        ],
      });
      if (this.warned) this.logger.log('Counting connections cluster-wide again');
      this.warned = false;
      if (Number(taken) !== 1) return false;
      const holders = this.mine.get(key) ?? new Set<string>();
      holders.add(holder);
      this.mine.set(key, holders);
      return true;
    } catch (error) {
      // Redis down (the client fails at once, it queues nothing): count on this instance
      // alone rather than refuse everyone or make the client wait.
      if (!this.warned)
        this.logger.warn(
          `Counting connections on this instance only until Redis answers: ${(error as Error).message}`,
        );
      this.warned = true;
      return this.fallback.take(key, holder, limit);
    }
  }

  give(key: string, holder: string): void {
    const holders = this.mine.get(key);
    if (holders?.delete(holder)) {
      if (holders.size === 0) this.mine.delete(key);
      this.client.zRem(this.prefix + key, holder).catch(() => undefined);
    }
    this.fallback.give(key, holder);
  }

  async count(key: string): Promise<number> {
    await this.client.zRemRangeByScore(this.prefix + key, '-inf', Date.now());
    return this.client.zCard(this.prefix + key);
  }

  dispose(): void {
    clearInterval(this.heartbeat);
  }

  private refresh(): void {
    const expiry = Date.now() + this.lifetimeMs;
    for (const [key, holders] of this.mine) {
      const members = [...holders].map((value) => ({ score: expiry, value }));
      this.client.zAdd(this.prefix + key, members).catch(() => undefined);
      this.client.pExpire(this.prefix + key, this.lifetimeMs * 2).catch(() => undefined);
    }
  }
}
