import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { freePort } from '../../../../test/support/processes.js';
import { RedisServer } from '../../../../test/support/redis-server.js';
import type { PresenceRedisClient } from './presence-scripts.js';
import { RedisPresence } from './redis-presence.js';
import type { UserDisconnectedNotice } from './user-disconnected-notice.js';
import type { PresenceConnection } from './user-presence.js';

type RealClient = ReturnType<typeof createClient>;

/** A real client whose link the test can cut: every command then fails, as with Redis away. */
class CuttableClient implements PresenceRedisClient {
  cut = false;

  constructor(private readonly real: RealClient) {}

  get isReady(): boolean {
    return !this.cut && this.real.isReady;
  }

  sendCommand(args: string[]): Promise<unknown> {
    if (this.cut) return Promise.reject(new Error('cut off'));
    return this.real.sendCommand(args);
  }
}

const HEARTBEAT_MS = 50;
const INSTANCE_TIMEOUT_MS = 600;

describe('RedisPresence', () => {
  let redis: RedisServer;
  let real: RealClient;
  const presences: RedisPresence[] = [];
  let serial = 0;

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    real = createClient({ url: redis.url });
    real.on('error', () => undefined);
    await real.connect();
  });

  afterEach(async () => {
    for (const presence of presences.splice(0)) await presence.dispose();
    await real.flushAll();
  });

  afterAll(async () => {
    real?.destroy();
    await redis?.stop();
  });

  function instance(name: string, graceMs = 0) {
    const client = new CuttableClient(real);
    const fired: UserDisconnectedNotice[] = [];
    const presence = new RedisPresence({
      client,
      instanceId: name,
      prefix: `{test:${serial}:presence}:`,
      graceMs,
      heartbeatMs: HEARTBEAT_MS,
      instanceTimeoutMs: INSTANCE_TIMEOUT_MS,
      fire: (notice) => fired.push(notice),
    });
    presences.push(presence);
    presence.start();
    return { presence, client, fired };
  }

  async function registered(...among: Array<{ presence: RedisPresence }>): Promise<void> {
    while (!among.every(({ presence }) => presence.registered))
      await Promise.all(among.map(({ presence }) => presence.nextHeartbeat()));
  }

  async function heartbeats(count: number, ...among: Array<{ presence: RedisPresence }>) {
    for (let i = 0; i < count; i++)
      await Promise.all(among.map(({ presence }) => presence.nextHeartbeat()));
  }

  const conn = (userId: string, connectionId: string, armed = true): PresenceConnection => ({
    userId,
    connectionId,
    armed,
  });

  it('fires once per user when two instances close the last connections of 100 users at once', async () => {
    serial++;
    const a = instance('a');
    const b = instance('b');
    await registered(a, b);
    const users = Array.from({ length: 100 }, (_, i) => `u${i}`);
    for (const user of users) {
      a.presence.connected(conn(user, `${user}-a`));
      b.presence.connected(conn(user, `${user}-b`));
    }
    await heartbeats(1, a, b);
    for (const user of users) {
      a.presence.disconnected(conn(user, `${user}-a`), 'transport close', 1);
      b.presence.disconnected(conn(user, `${user}-b`), 'transport close', 2);
    }
    await heartbeats(3, a, b);
    const fired = [...a.fired, ...b.fired].map((n) => n.userId).sort();
    expect(fired).toEqual([...users].sort());
  });

  it('has exactly one of two sweepers fire for the users of an instance that stopped answering', async () => {
    serial++;
    const a = instance('a');
    const b = instance('b');
    const dead = instance('dead');
    await registered(a, b, dead);
    for (let i = 0; i < 50; i++) dead.presence.connected(conn(`d${i}`, `d${i}-dead`));
    dead.presence.connected(conn('shared', 'shared-dead'));
    b.presence.connected(conn('shared', 'shared-b'));
    dead.presence.connected(conn('plain', 'plain-dead', false));
    await heartbeats(1, a, b, dead);

    dead.client.cut = true;
    while ([...a.fired, ...b.fired].length < 50) await heartbeats(1, a, b);
    await heartbeats(3, a, b);
    const fired = [...a.fired, ...b.fired];
    expect(fired.map((n) => n.userId).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `d${i}`).sort(),
    );
    expect(fired[0]).toMatchObject({
      reason: 'instance_lost',
      lastConnectionId: expect.any(String),
    });
    // Still connected on b: the sweep left it alone; its last close fires.
    b.presence.disconnected(conn('shared', 'shared-b'), 'ping timeout', 3);
    await heartbeats(2, a, b);
    expect([...a.fired, ...b.fired].filter((n) => n.userId === 'shared')).toEqual([
      { userId: 'shared', reason: 'ping timeout', lastConnectionId: 'shared-b', at: 3 },
    ]);
  });

  it('after Redis lost its data, decides a close made meanwhile only once every instance could register again', async () => {
    serial++;
    const a = instance('a');
    const b = instance('b');
    await registered(a, b);
    a.presence.connected(conn('both', 'both-a'));
    b.presence.connected(conn('both', 'both-b'));
    a.presence.connected(conn('only-a', 'only-a-a'));
    await heartbeats(1, a, b);

    a.client.cut = true;
    b.client.cut = true;
    a.presence.disconnected(conn('both', 'both-a'), 'transport close', 10);
    a.presence.disconnected(conn('only-a', 'only-a-a'), 'transport close', 11);
    await real.flushAll();
    // a is back first; b only a few heartbeats later, well within the instance timeout.
    a.client.cut = false;
    await heartbeats(4, a);
    expect(a.presence.waitingCloses).toBe(2);
    b.client.cut = false;
    while (a.presence.waitingCloses > 0) await heartbeats(1, a, b);
    await heartbeats(2, a, b);

    expect([...a.fired, ...b.fired]).toEqual([
      { userId: 'only-a', reason: 'transport close', lastConnectionId: 'only-a-a', at: 11 },
    ]);
    b.presence.disconnected(conn('both', 'both-b'), 'transport close', 12);
    // b saw the data lost a few heartbeats after a: its own closes wait out its settling
    // time, and a loaded machine stretches heartbeats; bounded, not timed.
    while (b.presence.waitingCloses > 0) await heartbeats(1, a, b);
    for (let i = 0; i < 10 && a.fired.length + b.fired.length < 2; i++) await heartbeats(1, a, b);
    await heartbeats(2, a, b);
    expect([...a.fired, ...b.fired].map((n) => n.userId)).toEqual(['only-a', 'both']);
  });

  it('cancels a notice when the user opens a connection within the grace, on another instance', async () => {
    serial++;
    const a = instance('a', 60_000);
    const b = instance('b', 60_000);
    await registered(a, b);
    a.presence.connected(conn('back', 'back-1'));
    await heartbeats(1, a);
    a.presence.disconnected(conn('back', 'back-1'), 'transport close', Date.now());
    await heartbeats(1, a);
    expect(await real.zCard(`{test:${serial}:presence}:pending`)).toBe(1);
    b.presence.connected(conn('back', 'back-2', false));
    await heartbeats(1, b);
    expect(await real.zCard(`{test:${serial}:presence}:pending`)).toBe(0);
  });

  it('hands a due notice to one of the instances whose timers claim it', async () => {
    serial++;
    const a = instance('a', 300);
    const b = instance('b', 300);
    await registered(a, b);
    for (let i = 0; i < 30; i++) {
      a.presence.connected(conn(`g${i}`, `g${i}-a`));
      b.presence.connected(conn(`g${i}`, `g${i}-b`, false));
    }
    await heartbeats(1, a, b);
    const at = Date.now();
    for (let i = 0; i < 30; i++) {
      // b's unarmed one closes first: a's armed one is the last, and a schedules.
      b.presence.disconnected(conn(`g${i}`, `g${i}-b`, false), 'transport close', at);
      a.presence.disconnected(conn(`g${i}`, `g${i}-a`), 'transport close', at);
    }
    while ([...a.fired, ...b.fired].length < 30) await heartbeats(1, a, b);
    await heartbeats(3, a, b);
    expect([...a.fired, ...b.fired]).toHaveLength(30);
    expect(new Set([...a.fired, ...b.fired].map((n) => n.userId)).size).toBe(30);
  });
});
