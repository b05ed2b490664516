import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  CLAIM,
  CONNECT,
  DISCONNECT,
  HEARTBEAT,
  PresenceKeys,
  SWEEP,
  type PresenceRedisClient,
} from './presence-scripts.js';
import { INSTANCE_LOST_REASON, type UserDisconnectedNotice } from './user-disconnected-notice.js';
import type { FireSwitch, PresenceConnection, UserPresence } from './user-presence.js';

export interface RedisPresenceOptions {
  readonly client: PresenceRedisClient;
  /** The operator's name of this instance; a random suffix makes each process distinct. */
  readonly instanceId: string;
  /** Prefix of every key, hash tag included. */
  readonly prefix: string;
  readonly graceMs: number;
  readonly heartbeatMs: number;
  readonly instanceTimeoutMs: number;
  readonly fire: FireSwitch;
  /** A close that must wait for Redis (counted by the caller). */
  readonly deferred?: () => void;
}

/** A connection of this instance and whether Redis holds its field. */
interface Tracked {
  readonly connection: PresenceConnection;
  readonly value: string;
  registered: boolean;
  /** The CONNECT in flight, if any: a close waits for it. */
  registration?: Promise<void>;
}

interface Close {
  readonly tracked: Tracked;
  readonly reason: string;
  readonly at: number;
}

/** Closes one script batch applies at most (they go out pipelined, in order). */
const MAX_BATCH = 500;
/** Closes kept while Redis is away; beyond, the oldest is dropped (and logged). */
const MAX_QUEUED_CLOSES = 100_000;
/** Users of dead instances one heartbeat sweeps at most; the next goes on. */
const MAX_SWEEP_PER_TICK = 1000;
/** Notices one claim takes at most; a full claim is followed by another. */
const MAX_CLAIM = 100;
/** Longest the goodbye (deleting this instance's heartbeat) may hold up a shutdown. */
const GOODBYE_TIMEOUT_MS = 1000;

/**
 * Users' connections across the cluster, in Redis: a hash per user of connection id → armed
 * flag and holding instance, and a heartbeat key per instance (TTL `instanceTimeoutMs`).
 * The script that removes a user's last connection schedules the notice (at close time +
 * grace) in a sorted set; a connection that opens cancels it; at its due time exactly one
 * instance claims it (the one that scheduled it, or any other at its heartbeat, should that
 * one have died). Instances sweep instances whose heartbeat expired, one user per step, and
 * schedule the notice for users whose last connections were there.
 *
 * Redis away: nothing fires from this instance's knowledge alone (it cannot see whether the
 * user is connected elsewhere). Closes wait, in order, and are applied once Redis answers:
 * at once when Redis kept its data, or `instanceTimeoutMs` later when it came back empty,
 * so every live instance has registered its connections again before anyone decides. Notices
 * already scheduled in Redis fire late, once it answers. Nothing here rejects unhandled.
 */
export class RedisPresence implements UserPresence {
  private readonly logger = new Logger('DeadManSwitch');
  private readonly keys: PresenceKeys;
  /** This process's id in Redis: a restarted instance of the same name is another one. */
  readonly presenceId: string;
  private readonly live = new Map<string, Tracked>();
  private readonly queue: Close[] = [];
  /** Redis holds this instance's registration and no command failed since. */
  private up = false;
  private resyncing = false;
  /** Closes are not applied before this (every instance registering again after a data loss). */
  private settleUntil = 0;
  private knownEpoch: string | undefined;
  private ticking = false;
  private flushing = false;
  private claiming: Promise<void> | undefined;
  private claimAgain = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private claimTimer: NodeJS.Timeout | undefined;
  private claimAt = Infinity;
  private disposed = false;
  private outageLogged = false;
  private waiting: Array<() => void> = [];

  constructor(private readonly options: RedisPresenceOptions) {
    this.keys = new PresenceKeys(options.prefix);
    this.presenceId = `${options.instanceId}#${randomBytes(4).toString('hex')}`;
  }

  start(): void {
    this.heartbeat = setInterval(() => void this.tick(), this.options.heartbeatMs);
    this.heartbeat.unref();
    void this.tick();
  }

  connected(connection: PresenceConnection): void {
    const tracked: Tracked = {
      connection,
      value: (connection.armed ? '1' : '0') + this.presenceId,
      registered: false,
    };
    this.live.set(connection.connectionId, tracked);
    // While Redis is away the next heartbeat that reaches it registers every connection.
    if (this.up) tracked.registration = this.register(tracked, true);
  }

  disconnected(connection: PresenceConnection, reason: string, at: number): void {
    const tracked = this.live.get(connection.connectionId);
    if (!tracked) return;
    this.live.delete(connection.connectionId);
    if (this.queue.length >= MAX_QUEUED_CLOSES) {
      const dropped = this.queue.shift()!;
      this.logger.error(
        `More than ${MAX_QUEUED_CLOSES} closes wait for Redis: the oldest (user ${dropped.tracked.connection.userId}) is dropped`,
      );
    }
    this.queue.push({ tracked, reason, at });
    if (!this.canApply()) this.options.deferred?.();
    void this.flush();
  }

  /** Closes waiting for Redis (for tests and operators). */
  get waitingCloses(): number {
    return this.queue.length;
  }

  /** Whether Redis holds this instance's registration right now. */
  get registered(): boolean {
    return this.up && !this.resyncing;
  }

  /** Resolves once a heartbeat that starts after this call has finished (tests use it). */
  nextHeartbeat(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.claimTimer);
    for (const resolve of this.waiting.splice(0)) resolve();
    if (!this.up) return;
    // Gone on purpose: the others sweep what is left of this instance at their next heartbeat
    // instead of waiting for the heartbeat to expire.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.options.client
        .sendCommand(['DEL', this.keys.alive(this.presenceId)])
        .catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  private canApply(): boolean {
    return this.up && !this.resyncing && Date.now() >= this.settleUntil;
  }

  private register(tracked: Tracked, cancel: boolean): Promise<void> {
    const { userId, connectionId } = tracked.connection;
    return CONNECT.run(
      this.options.client,
      [this.keys.user(userId), this.keys.on(this.presenceId), this.keys.pending, this.keys.notices],
      [connectionId, tracked.value, userId, cancel ? '1' : '0'],
    ).then(
      () => {
        tracked.registered = true;
      },
      (error: unknown) => this.wentDown(error),
    );
  }

  private wentDown(error: unknown): void {
    this.up = false;
    if (this.outageLogged || this.disposed) return;
    this.outageLogged = true;
    this.logger.warn(
      `Redis unavailable (${error instanceof Error ? error.message : String(error)}): closes wait for it, nothing fires from this instance alone until it answers`,
    );
  }

  /** Heartbeat; registration when Redis lost it; waiting closes; sweeps; due notices. */
  private async tick(): Promise<void> {
    if (this.ticking || this.disposed) return;
    this.ticking = true;
    const waiting = this.waiting.splice(0);
    try {
      await this.beat();
      await this.flush();
      await this.sweep();
      await this.claim();
    } catch (error) {
      this.wentDown(error);
    } finally {
      this.ticking = false;
      for (const resolve of waiting) resolve();
    }
  }

  private async beat(): Promise<void> {
    const candidate = randomBytes(8).toString('hex');
    const [existed, epoch] = (await HEARTBEAT.run(
      this.options.client,
      [this.keys.alive(this.presenceId), this.keys.instances, this.keys.epoch],
      [this.presenceId, String(this.options.instanceTimeoutMs), candidate],
    )) as [number, string];
    const dataLost = this.knownEpoch !== undefined && epoch !== this.knownEpoch;
    this.knownEpoch = epoch;
    if (dataLost) {
      this.settleUntil = Date.now() + this.options.instanceTimeoutMs;
      this.logger.warn(
        `Redis came back without its data: closes made meanwhile are decided in ${this.options.instanceTimeoutMs} ms, once every instance registered again`,
      );
    }
    if (!this.up || Number(existed) === 0 || dataLost) await this.registerAll(dataLost);
  }

  /**
   * Writes every connection of this instance again (idempotent), and the fields of closes
   * still waiting that Redis may not hold, so applying those closes decides as if Redis had
   * seen everything. A close whose field Redis held and lost to a sweep is not restored:
   * that sweep already decided for it.
   */
  private async registerAll(dataLost: boolean): Promise<void> {
    this.up = true;
    this.resyncing = true;
    try {
      const writes: Array<Promise<void>> = [];
      for (const tracked of this.live.values()) writes.push(this.register(tracked, true));
      for (const { tracked } of this.queue)
        if (dataLost || !tracked.registered) writes.push(this.register(tracked, false));
      await Promise.all(writes);
      if (!this.up) throw new Error('registration failed');
      if (this.outageLogged) {
        this.outageLogged = false;
        this.logger.log(
          `Redis answers again: ${this.live.size} connections registered, ${this.queue.length} closes to apply`,
        );
      }
    } finally {
      this.resyncing = false;
    }
  }

  /** Applies waiting closes in order while Redis takes them. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.canApply()) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await Promise.all(batch.map((close) => close.tracked.registration));
        const results = await Promise.allSettled(batch.map((close) => this.applyClose(close)));
        const again: Close[] = [];
        results.forEach((result, i) => {
          if (result.status === 'rejected') {
            again.push(batch[i]!);
            this.wentDown(result.reason);
          } else if (result.value === 'stale') {
            // Redis lost this instance's registration: register again, then apply.
            again.push(batch[i]!);
            this.up = false;
            void this.tick();
          } else if (result.value === 'armed') {
            this.claimBy(batch[i]!.at + this.options.graceMs);
          }
        });
        this.queue.unshift(...again);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async applyClose({ tracked, reason, at }: Close): Promise<string> {
    if (!tracked.registered) throw new Error('connection not registered');
    const { userId, connectionId } = tracked.connection;
    const notice = JSON.stringify({ reason, lastConnectionId: connectionId, at });
    return String(
      await DISCONNECT.run(
        this.options.client,
        [
          this.keys.user(userId),
          this.keys.on(this.presenceId),
          this.keys.pending,
          this.keys.notices,
          this.keys.alive(this.presenceId),
          this.keys.epoch,
        ],
        [
          connectionId,
          this.presenceId,
          userId,
          String(at + this.options.graceMs),
          notice,
          this.knownEpoch ?? '',
        ],
      ),
    );
  }

  /** Takes over the users of every instance whose heartbeat expired. */
  private async sweep(): Promise<void> {
    const instances = (await this.options.client.sendCommand([
      'SMEMBERS',
      this.keys.instances,
    ])) as string[];
    let budget = MAX_SWEEP_PER_TICK;
    for (const dead of instances) {
      if (dead === this.presenceId) continue;
      while (budget-- > 0) {
        const now = Date.now();
        const [kind, , fired] = (await SWEEP.run(
          this.options.client,
          [
            this.keys.instances,
            this.keys.alive(dead),
            this.keys.on(dead),
            this.keys.pending,
            this.keys.notices,
          ],
          [
            dead,
            String(now),
            String(now + this.options.graceMs),
            this.keys.user(''),
            INSTANCE_LOST_REASON,
          ],
        )) as [string, string?, string?];
        if (kind !== 'user') break;
        if (fired === '1') this.claimBy(now + this.options.graceMs);
      }
    }
  }

  /** Claims notices due by `due`: now, or with a timer (the heartbeat claims them too). */
  private claimBy(due: number): void {
    if (this.disposed) return;
    const wait = due - Date.now();
    if (wait <= 0) {
      void this.claim().catch((error: unknown) => this.wentDown(error));
      return;
    }
    if (due >= this.claimAt) return;
    clearTimeout(this.claimTimer);
    this.claimAt = due;
    this.claimTimer = setTimeout(() => {
      this.claimAt = Infinity;
      void this.claim().catch((error: unknown) => this.wentDown(error));
    }, wait);
    this.claimTimer.unref();
  }

  /** Claims what is due; a claim asked for while one runs runs once more after it. */
  private claim(): Promise<void> {
    if (this.claiming) {
      this.claimAgain = true;
      return this.claiming;
    }
    this.claiming = (async () => {
      try {
        do {
          this.claimAgain = false;
          while (await this.claimBatch());
        } while (this.claimAgain && !this.disposed);
      } finally {
        this.claiming = undefined;
      }
    })();
    return this.claiming;
  }

  /** One claim; true when it took as many as it may (more may be due). */
  private async claimBatch(): Promise<boolean> {
    const [due, ...pairs] = (await CLAIM.run(
      this.options.client,
      [this.keys.pending, this.keys.notices],
      [String(Date.now()), String(MAX_CLAIM), this.keys.user('')],
    )) as [number, ...string[]];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const notice = parseNotice(pairs[i]!, pairs[i + 1]!);
      if (notice) this.fireSafely(notice);
      else this.logger.error(`Unreadable dead-man notice for user ${pairs[i]}: dropped`);
    }
    return Number(due) >= MAX_CLAIM;
  }

  /** A claimed notice is this instance's to hand on: a fault there must not lose the others. */
  private fireSafely(notice: UserDisconnectedNotice): void {
    try {
      this.options.fire(notice);
    } catch (error) {
      this.logger.error(`Could not hand on the notice of user ${notice.userId}: ${String(error)}`);
    }
  }
}

function parseNotice(userId: string, json: string): UserDisconnectedNotice | undefined {
  try {
    const { reason, lastConnectionId, at } = JSON.parse(json) as Record<string, unknown>;
    if (typeof reason !== 'string' || typeof lastConnectionId !== 'string') return undefined;
    if (typeof at !== 'number') return undefined;
    return { userId, reason, lastConnectionId, at };
  } catch {
    return undefined;
  }
}
