import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command, sleep, until } from './support/gateway-harness.js';
import { freePort, startProcess, type RunningProcess } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const PUBLISH_KEY = 'cluster-publish-key-0123456789';
const MAIN = 'dist/apps/gateway/src/main.js';

interface Instance {
  port: number;
  process: RunningProcess;
  url: string;
}

const ready = async (instance: Instance) =>
  (await fetch(`${instance.url}/health/ready`)).status === 200;

describe('three gateway instances on one Redis', () => {
  let redis: RedisServer;
  const instances: Instance[] = [];
  const sockets: Socket[] = [];

  async function startInstance(
    name: string,
    extraEnv: Record<string, string> = {},
  ): Promise<Instance> {
    const port = await freePort();
    const process = await startProcess(
      MAIN,
      {
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        JWT_SECRET: TEST_SECRET,
        PUBLISH_API_KEY: PUBLISH_KEY,
        DRAIN_TIMEOUT_MS: '2000',
        INSTANCE_ID: name,
        LOG_LEVEL: 'info',
        ...extraEnv,
      },
      /listening on/,
    );
    const instance = { port, process, url: `http://127.0.0.1:${port}` };
    await until(() => ready(instance), 15_000, `${name} to be ready`);
    return instance;
  }

  async function client(
    instance: Instance,
    token?: string,
  ): Promise<{ socket: Socket; recorder: Recorder }> {
    const socket = io(`${instance.url}/ws`, {
      transports: ['websocket'],
      reconnection: false,
      auth: token ? { token } : {},
    });
    sockets.push(socket);
    const recorder = new Recorder(socket);
    await recorder.waitFor('connected');
    return { socket, recorder };
  }

  const publish = (instance: Instance, body: unknown) =>
    fetch(`${instance.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    for (let i = 0; i < 3; i++) instances.push(await startInstance(`gateway-${i}`));
  }, 90_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await Promise.all(instances.map((instance) => instance.process.kill()));
    await redis?.stop();
  });

  it('delivers public and private events entering at one instance to clients on all three', async () => {
    const watchers = await Promise.all(instances.map((instance) => client(instance)));
    for (const { socket } of watchers)
      await command(socket, 'subscribe', { channel: 'trades', symbol: 'CLUSTERUSDT' });
    const alice = await Promise.all([
      client(instances[0]!, hsToken('alice')),
      client(instances[1]!, hsToken('alice')),
    ]);
    const bob = await client(instances[2]!, hsToken('bob'));
    for (const { socket } of [...alice, bob])
      await command(socket, 'subscribe.private', { channel: 'user.orders' });

    const response = await publish(instances[2]!, [
      { event: 'trade', data: { symbol: 'CLUSTERUSDT', tradeId: 1, timestamp: Date.now() } },
      { event: 'order.filled', data: { userId: 'alice', orderId: 77 } },
    ]);
    expect(response.status).toBe(202);
    for (const { recorder } of watchers) {
      const [trade] = await recorder.waitFor('trade');
      expect(trade).toMatchObject({ offset: 1, data: { symbol: 'CLUSTERUSDT', tradeId: 1 } });
    }
    for (const { recorder } of alice)
      expect((await recorder.waitFor('order.filled'))[0].data.orderId).toBe(77);
    await command(bob.socket, 'ping');
    expect(bob.recorder.payloads('order.filled')).toEqual([]);
  });

  it('gives operators cluster-wide counts and closes a user everywhere', async () => {
    const admin = hsToken('operator', { claims: { roles: ['admin'] } });
    const stats = await fetch(`${instances[0]!.url}/admin/stats`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(stats.status).toBe(200);
    const body = (await stats.json()) as any;
    expect(body.cluster.instances.map((i: { instanceId: string }) => i.instanceId).sort()).toEqual([
      'gateway-0',
      'gateway-1',
      'gateway-2',
    ]);
    expect(body.cluster.connections).toBe(sockets.filter((s) => s.connected).length);
    expect(body.cluster.subscriptions.trades).toBe(3);

    const notAdmin = hsToken('trader', { claims: { roles: ['trader'] } });
    expect(
      (
        await fetch(`${instances[0]!.url}/admin/stats`, {
          headers: { authorization: `Bearer ${notAdmin}` },
        })
      ).status,
    ).toBe(403);
    expect((await fetch(`${instances[0]!.url}/admin/stats`)).status).toBe(401);

    const carol = await Promise.all([
      client(instances[0]!, hsToken('carol')),
      client(instances[1]!, hsToken('carol')),
    ]);
    const closed = carol.map(
      ({ socket }) => new Promise((resolve) => socket.once('disconnect', resolve)),
    );
    const kick = await fetch(`${instances[2]!.url}/admin/users/carol/disconnect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(kick.status).toBe(202);
    await Promise.all(closed);

    const watcher = await client(instances[1]!);
    const alert = await fetch(`${instances[0]!.url}/admin/alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'maintenance at 02:00', level: 'warning' }),
    });
    expect(alert.status).toBe(202);
    expect((await watcher.recorder.waitFor('system.alert'))[0].data.message).toBe(
      'maintenance at 02:00',
    );
  });

  it('keeps local delivery while Redis is down and delivers across instances again once it is back', async () => {
    const watchers = await Promise.all(instances.map((instance) => client(instance)));
    for (const { socket } of watchers)
      await command(socket, 'subscribe', { channel: 'trades', symbol: 'OUTAGEUSDT' });
    await redis.stop();
    await until(
      async () => !(await ready(instances[0]!)),
      10_000,
      'readiness to report Redis down',
    );
    const down = (await (await fetch(`${instances[0]!.url}/health/ready`)).json()) as any;
    expect(down.checks.redis).toMatchObject({ ready: false });

    expect(
      (await publish(instances[0]!, { event: 'trade', data: { symbol: 'OUTAGEUSDT', tradeId: 1 } }))
        .status,
    ).toBe(202);
    await watchers[0]!.recorder.waitFor('trade');

    await redis.start();
    await until(
      async () => (await Promise.all(instances.map(ready))).every(Boolean),
      20_000,
      'every instance ready again',
    );
    // Subscriptions come back with the reconnect; retry until the bus carries events again.
    await until(
      async () => {
        await publish(instances[1]!, {
          event: 'trade',
          data: { symbol: 'OUTAGEUSDT', tradeId: 2 },
        });
        await sleep(200);
        return watchers.every(({ recorder }) =>
          recorder.payloads('trade').some((t) => t.data.tradeId === 2),
        );
      },
      20_000,
      'cross-instance delivery after the Redis restart',
    );
  }, 60_000);

  it('exposes metrics that move with the traffic', async () => {
    const scrape = async () => (await fetch(`${instances[0]!.url}/metrics`)).text();
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    const httpTrades = 'realtime_events_in_total{ingress="http",event="trade"}';
    const clusterTrades = 'realtime_events_in_total{ingress="cluster",event="trade"}';
    const before = await scrape();
    expect(value(before, 'realtime_connections')).toBeGreaterThan(0);
    const watcher = await client(instances[0]!);
    await command(watcher.socket, 'subscribe', { channel: 'trades', symbol: 'METRICUSDT' });
    const trades = Array.from({ length: 5 }, (_, i) => ({
      event: 'trade',
      data: { symbol: 'METRICUSDT', tradeId: i, timestamp: Date.now() },
    }));
    await publish(instances[0]!, trades);
    await publish(instances[1]!, trades);
    await watcher.recorder.waitFor('trade', 10);
    const after = await scrape();
    expect(value(after, httpTrades) - value(before, httpTrades)).toBe(5);
    expect(value(after, clusterTrades) - value(before, clusterTrades)).toBe(5);
    expect(value(after, 'realtime_messages_out_total{channel="trades"}')).toBeGreaterThan(
      value(before, 'realtime_messages_out_total{channel="trades"}'),
    );
    expect(value(after, 'realtime_delivery_latency_seconds_count')).toBeGreaterThan(
      value(before, 'realtime_delivery_latency_seconds_count'),
    );
    expect(value(after, 'realtime_subscriptions{channel="trades"}')).toBeGreaterThan(0);
    expect(after).toContain('realtime_process_cpu_seconds_total');
  });

  it('drains on SIGTERM: not ready at once, server.shutdown to every client, exit 0 in time; the others keep serving', async () => {
    const draining = instances[1]!;
    const clients = await Promise.all([client(draining), client(draining)]);
    const events = clients.map(
      ({ socket, recorder }) =>
        new Promise<string[]>((resolve) =>
          socket.once('disconnect', () => resolve(recorder.events.map((e) => e.name))),
        ),
    );
    const signalled = Date.now();
    const exited = draining.process.stop();
    await until(async () => !(await ready(draining).catch(() => false)), 500, 'readiness 503');
    const refused = await new Promise<boolean>((resolve) => {
      const late = io(`${draining.url}/ws`, { transports: ['websocket'], reconnection: false });
      late.once('connect', () => resolve(false));
      late.once('connect_error', () => resolve(true));
    });
    expect(refused).toBe(true);
    for (const names of await Promise.all(events)) expect(names).toContain('server.shutdown');
    expect(clients[0]!.recorder.payloads('server.shutdown')[0]).toEqual({
      reconnectAfterMs: expect.any(Number),
    });
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(2000 + 3000);

    const others = await Promise.all([client(instances[0]!), client(instances[2]!)]);
    for (const { socket } of others)
      await command(socket, 'subscribe', { channel: 'trades', symbol: 'AFTERUSDT' });
    await publish(instances[0]!, { event: 'trade', data: { symbol: 'AFTERUSDT', tradeId: 1 } });
    for (const { recorder } of others) await recorder.waitFor('trade');
  }, 30_000);

  it("counts connections per user across instances, and frees a killed process's slots by themselves", async () => {
    const env = { MAX_CONNECTIONS_PER_USER: '2', CONNECTION_SLOT_LIFETIME_MS: '2000' };
    const doomed = await startInstance('gateway-doomed', env);
    const survivor = await startInstance('gateway-survivor', env);
    const attempt = (instance: Instance) =>
      new Promise<string>((resolve) => {
        const socket = io(`${instance.url}/ws`, {
          transports: ['websocket'],
          reconnection: false,
          auth: { token: hsToken('dan') },
        });
        sockets.push(socket);
        socket.once('connected', () => resolve('connected'));
        socket.once('connect_error', (error: Error & { data?: { code: string } }) =>
          resolve(error.data?.code ?? error.message),
        );
      });
    expect(await attempt(doomed)).toBe('connected');
    expect(await attempt(doomed)).toBe('connected');
    expect(await attempt(survivor)).toBe('CONNECTION_LIMIT');
    doomed.process.child.kill('SIGKILL');
    await until(
      async () => (await attempt(survivor)) === 'connected',
      10_000,
      "the dead process's slots to expire",
    );
    survivor.process.child.kill('SIGKILL');
  }, 60_000);

  it('works the same over Redis 7 sharded pub/sub (REDIS_SHARDED=true)', async () => {
    const env = { REDIS_SHARDED: 'true' };
    const [first, second] = [
      await startInstance('sharded-1', env),
      await startInstance('sharded-2', env),
    ];
    try {
      const watcher = await client(second!);
      await command(watcher.socket, 'subscribe', { channel: 'trades', symbol: 'SHARDUSDT' });
      await until(
        async () => {
          await publish(first!, { event: 'trade', data: { symbol: 'SHARDUSDT', tradeId: 1 } });
          await sleep(200);
          return watcher.recorder.payloads('trade').length > 0;
        },
        10_000,
        'a trade across sharded instances',
      );
      const admin = hsToken('operator', { claims: { roles: ['admin'] } });
      const stats = (await (
        await fetch(`${first!.url}/admin/stats`, { headers: { authorization: `Bearer ${admin}` } })
      ).json()) as any;
      expect(stats.cluster.instances.map((i: { instanceId: string }) => i.instanceId)).toEqual(
        expect.arrayContaining(['sharded-1', 'sharded-2']),
      );
    } finally {
      first!.process.child.kill('SIGKILL');
      second!.process.child.kill('SIGKILL');
    }
  }, 60_000);

  it('exits at once on a second signal', async () => {
    const instance = await startInstance('gateway-impatient', { DRAIN_TIMEOUT_MS: '60000' });
    await client(instance);
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) =>
      instance.process.child.once('exit', (code) => resolve(code)),
    );
    instance.process.child.kill('SIGTERM');
    await sleep(200);
    instance.process.child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 30_000);
});
