import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { io, type Socket } from 'socket.io-client';
import type { RealtimeModuleOptions } from '#realtime';
import {
  DeadManSwitch,
  INSTANCE_LOST_REASON,
  RedisPresence,
  USER_DISCONNECTED_EVENT,
  type DeadManSwitchOptions,
  type UserDisconnectedNotice,
} from '#realtime/internal';
import { GatewayHarness, roundTrip, sleep, until } from './support/gateway-harness.js';
import { JsonClient } from './support/json-client.js';
import { metricValue } from './support/gateway-process.js';
import { freePort, startProcess, type RunningProcess } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const SECRET = 'dead-man-backend-secret-0123456789';

/** The exchange backend: records every notice POSTed to it, answers with `status()`. */
class Backend {
  readonly calls: Array<{ headers: IncomingHttpHeaders; body: UserDisconnectedNotice }> = [];
  status: () => number = () => 204;
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        this.calls.push({ headers: request.headers, body: JSON.parse(text) });
        response.writeHead(this.status()).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/cancel-on-disconnect`;
  }

  notices(userId?: string): UserDisconnectedNotice[] {
    return this.calls.map((call) => call.body).filter((n) => !userId || n.userId === userId);
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** One in-process gateway with its switch and every notice its EventEmitter2 carried. */
interface Instance {
  harness: GatewayHarness;
  events: UserDisconnectedNotice[];
}

const presenceOf = (instance: Instance) =>
  instance.harness.app.get(DeadManSwitch).userPresence as RedisPresence;

async function gateway(
  instanceId: string,
  deadManSwitch: DeadManSwitchOptions,
  redisUrl?: string,
): Promise<Instance> {
  const realtime: RealtimeModuleOptions = {
    instanceId,
    auth: { secret: TEST_SECRET },
    deadManSwitch,
  };
  const harness = await GatewayHarness.start(
    realtime,
    redisUrl ? { redis: { url: redisUrl } } : {},
  );
  const events: UserDisconnectedNotice[] = [];
  harness.emitter.on(USER_DISCONNECTED_EVENT, (notice: UserDisconnectedNotice) =>
    events.push(notice),
  );
  return { harness, events };
}

const sockets: Socket[] = [];
const greetings = new WeakMap<Socket, { connectionId: string }>();

/** A real socket.io-client connection to `url`, once greeted. */
async function open(url: string, auth: Record<string, unknown>): Promise<Socket> {
  const socket = io(`${url}/ws`, { transports: ['websocket'], reconnection: false, auth });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connected', (greeting: { connectionId: string }) => {
      greetings.set(socket, greeting);
      resolve();
    });
    socket.once('connect_error', reject);
  });
  return socket;
}

/** A signed-in connection; `armed` asks for cancel-on-disconnect. */
function connect(target: Instance | string, user: string, armed = true): Promise<Socket> {
  const auth: Record<string, unknown> = { token: hsToken(user, { ttlSeconds: 600 }) };
  if (armed) auth.cancelOnDisconnect = true;
  return open(typeof target === 'string' ? target : target.harness.url, auth);
}

/** The `connectionId` the server greeted the socket with. */
function connectionId(socket: Socket): string {
  return greetings.get(socket)!.connectionId;
}

function metric(instance: Instance, outcome: string): Promise<number> {
  return metricValue(instance.harness.url, `realtime_dead_man_switch_total{outcome="${outcome}"}`);
}

async function metricSum(instances: Instance[], outcome: string): Promise<number> {
  let sum = 0;
  for (const instance of instances) sum += await metric(instance, outcome);
  return sum;
}

afterAll(() => {
  for (const socket of sockets) socket.disconnect();
});

describe('cancel-on-disconnect across gateway instances on one Redis', () => {
  let redis: RedisServer;
  let inspector: ReturnType<typeof createClient>;
  const backend = new Backend();
  const instances: Instance[] = [];
  const processes: RunningProcess[] = [];
  let a: Instance;
  let b: Instance;
  const options = (): DeadManSwitchOptions => ({
    url: backend.url,
    secret: SECRET,
    heartbeatMs: 200,
    instanceTimeoutMs: 1500,
  });

  /** Notices scheduled in Redis and not claimed yet. */
  const pendingInRedis = () => inspector.zCard('{realtime:/ws:presence}:pending');

  /**
   * Two full heartbeats of every instance after now, and nothing left in Redis to claim:
   * whatever was going to fire has.
   */
  async function settled(...among: Instance[]): Promise<void> {
    for (let round = 0; round < 2; round++)
      await Promise.all(among.map((instance) => presenceOf(instance).nextHeartbeat()));
    await until(async () => (await pendingInRedis()) === 0, 5000, 'no pending notice');
  }

  const everyEvent = (...among: Instance[]) => among.flatMap((instance) => instance.events);

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    await backend.start();
    inspector = createClient({ url: redis.url });
    inspector.on('error', () => undefined);
    await inspector.connect();
    a = await gateway('A', options(), redis.url);
    b = await gateway('B', options(), redis.url);
    instances.push(a, b);
    await until(
      () => presenceOf(a).registered && presenceOf(b).registered,
      5000,
      'both instances registered',
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(processes.map((running) => running.kill()));
    for (const instance of instances) await instance.harness.stop();
    inspector?.destroy();
    await backend.stop();
    await redis?.stop();
  }, 60_000);

  it("fires exactly once, after the user's last connection closed, on one instance", async () => {
    const onA = await connect(a, 'two-instances');
    const onB = await connect(b, 'two-instances');
    const lastId = connectionId(onB);

    onA.disconnect();
    await settled(a, b);
    expect(backend.notices('two-instances')).toEqual([]);

    onB.disconnect();
    await until(() => backend.notices('two-instances').length > 0, 5000, 'the notice');
    await settled(a, b);
    expect(backend.notices('two-instances')).toEqual([
      {
        userId: 'two-instances',
        reason: 'client namespace disconnect',
        lastConnectionId: lastId,
        at: expect.any(Number),
      },
    ]);
    const call = backend.calls.find((c) => c.body.userId === 'two-instances')!;
    expect(call.headers['x-realtime-secret']).toBe(SECRET);
    expect(call.headers['content-type']).toBe('application/json');
    // The in-process event comes once too, on the instance that fired.
    expect(everyEvent(a, b).filter((n) => n.userId === 'two-instances')).toEqual(
      backend.notices('two-instances'),
    );
    expect(await metricSum([a, b], 'fired')).toBe(1);
    expect(await metricSum([a, b], 'delivered')).toBe(1);
  });

  it('fires once per user when both instances lose their connection of the user at the same moment', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    const sockets: Socket[] = [];
    for (const user of users) sockets.push(await connect(a, user), await connect(b, user));
    for (const socket of sockets) socket.disconnect();

    await until(
      () => users.every((user) => backend.notices(user).length > 0),
      10_000,
      'a notice for every user',
    );
    await settled(a, b);
    for (const user of users) {
      expect(backend.notices(user)).toHaveLength(1);
      expect(everyEvent(a, b).filter((n) => n.userId === user)).toHaveLength(1);
    }
  });

  it('fires nothing for a user who did not ask, an anonymous connection, or a last connection that did not ask', async () => {
    const plain = [await connect(a, 'never-armed', false), await connect(b, 'never-armed', false)];
    const anonymous = await open(a.harness.url, { cancelOnDisconnect: true });
    const armedFirst = await connect(a, 'armed-left-first');
    const plainLast = await connect(b, 'armed-left-first', false);
    const calls = backend.calls.length;

    for (const socket of plain) socket.disconnect();
    anonymous.disconnect();
    // The user is armed while an armed connection is open: when it goes first, the last
    // close (plain) fires nothing.
    armedFirst.disconnect();
    await settled(a, b);
    plainLast.disconnect();
    await settled(a, b);

    expect(backend.calls.slice(calls)).toEqual([]);
  });

  it('fires nothing when the user comes back within the grace, and once when they do not', async () => {
    const graceful = { ...options(), graceMs: 1500 };
    const c = await gateway('C', graceful, redis.url);
    const d = await gateway('D', graceful, redis.url);
    instances.push(c, d);
    await until(() => presenceOf(c).registered && presenceOf(d).registered, 5000, 'C and D');

    const first = await connect(c, 'comes-back');
    first.disconnect();
    // Back on the other instance, unarmed: the user is there, so that close ended nothing.
    const back = await connect(d, 'comes-back', false);
    await sleep(1500);
    await settled(a, b, c, d);
    expect(backend.notices('comes-back')).toEqual([]);

    const again = await connect(d, 'comes-back');
    const againId = connectionId(again);
    back.disconnect();
    again.disconnect();
    await until(() => backend.notices('comes-back').length > 0, 10_000, 'the notice');
    await settled(a, b, c, d);
    expect(backend.notices('comes-back')).toEqual([
      expect.objectContaining({ userId: 'comes-back', lastConnectionId: againId }),
    ]);
  });

  it('has a survivor fire once for a user whose only connection was on an instance killed with SIGKILL', async () => {
    const port = await freePort();
    const killed = await startProcess(
      'test/support/configured-gateway.mjs',
      {
        GATEWAY_CONFIG: JSON.stringify({
          port,
          realtime: { instanceId: 'E', auth: { secret: TEST_SECRET }, deadManSwitch: options() },
          redis: { url: redis.url },
          drainTimeoutMs: 1000,
          logLevel: 'error',
          admin: { role: 'admin' },
          metrics: {},
        }),
      },
      /listening on/,
    );
    processes.push(killed);
    const killedUrl = `http://127.0.0.1:${port}`;
    await until(
      async () => (await fetch(`${killedUrl}/health/ready`)).status === 200,
      15_000,
      'E ready',
    );
    const only = await connect(killedUrl, 'on-killed');
    const elsewhere = await connect(a, 'also-on-a');
    await connect(killedUrl, 'also-on-a');
    // E registered both (its heartbeat ran): the survivors know of them.
    await until(
      async () => (await inspector.hLen('{realtime:/ws:presence}:user:on-killed')) === 1,
      5000,
      "E's registration",
    );

    killed.child.kill('SIGKILL');
    await until(() => backend.notices('on-killed').length > 0, 15_000, 'the notice');
    await settled(a, b);
    expect(backend.notices('on-killed')).toEqual([
      {
        userId: 'on-killed',
        reason: INSTANCE_LOST_REASON,
        lastConnectionId: connectionId(only),
        at: expect.any(Number),
      },
    ]);
    // The other user still has a connection on A: nothing yet, once when it closes.
    expect(backend.notices('also-on-a')).toEqual([]);
    elsewhere.disconnect();
    await until(() => backend.notices('also-on-a').length > 0, 5000, 'the notice');
    await settled(a, b);
    expect(backend.notices('also-on-a')).toHaveLength(1);
  }, 60_000);

  it('defers closes made while Redis is down and decides them once it is back (empty), without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const gone = await connect(a, 'outage-gone');
      const staysOnA = await connect(a, 'outage-stays');
      const staysOnB = await connect(b, 'outage-stays');
      await settled(a, b);
      const calls = backend.calls.length;

      await redis.stop();
      // Churn while Redis is away: users who connect and leave, on both instances.
      const churn: string[] = [];
      for (let i = 0; i < 6; i++) {
        const user = `churn-${i}`;
        churn.push(user);
        const socket = await connect(i % 2 === 0 ? a : b, user);
        await roundTrip(socket);
        socket.disconnect();
      }
      gone.disconnect();
      staysOnA.disconnect();
      for (let round = 0; round < 3; round++)
        await Promise.all([presenceOf(a).nextHeartbeat(), presenceOf(b).nextHeartbeat()]);
      // Nothing fires from one instance's knowledge alone: it cannot see the others.
      expect(backend.calls.slice(calls)).toEqual([]);
      expect(await metricSum([a, b], 'deferred')).toBeGreaterThanOrEqual(8);

      await redis.start();
      await until(
        () => ['outage-gone', ...churn].every((user) => backend.notices(user).length > 0),
        20_000,
        'the notices of the users who left during the outage',
      );
      await until(
        () => presenceOf(a).waitingCloses + presenceOf(b).waitingCloses === 0,
        5000,
        'no close waiting',
      );
      await settled(a, b);
      for (const user of ['outage-gone', ...churn]) expect(backend.notices(user)).toHaveLength(1);
      // Still connected on B: its close on A during the outage ended nothing.
      expect(backend.notices('outage-stays')).toEqual([]);

      staysOnB.disconnect();
      await until(() => backend.notices('outage-stays').length > 0, 5000, 'the notice');
      await settled(a, b);
      expect(backend.notices('outage-stays')).toHaveLength(1);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, 60_000);
});

describe('cancel-on-disconnect on one instance without Redis, the backend failing', () => {
  const backend = new Backend();
  let instance: Instance;

  beforeAll(async () => {
    await backend.start();
  });

  afterAll(async () => {
    await instance?.harness.stop();
    await backend.stop();
  });

  it('retries a failing backend a bounded number of times, counts each outcome, and keeps serving', async () => {
    const deadPort = await freePort();
    instance = await gateway('solo', {
      url: `http://127.0.0.1:${deadPort}/nobody-listens`,
      secret: SECRET,
      retries: 2,
      retryDelayMs: 20,
    });
    const socket = await connect(instance, 'backend-down');
    socket.disconnect();

    await until(async () => (await metric(instance, 'failed')) === 1, 10_000, 'the failure');
    expect(await metric(instance, 'fired')).toBe(1);
    expect(await metric(instance, 'retried')).toBe(2);
    expect(await metric(instance, 'delivered')).toBe(0);
    // The in-process event went out all the same, and the instance still serves.
    expect(instance.events).toEqual([
      expect.objectContaining({ userId: 'backend-down', reason: 'client namespace disconnect' }),
    ]);
    await roundTrip(await connect(instance, 'still-served'));
  });

  it('delivers once the backend answers again within the retries', async () => {
    await instance.harness.stop();
    let answers = 0;
    backend.status = () => (++answers <= 2 ? 503 : 204);
    instance = await gateway('solo', {
      url: backend.url,
      secret: SECRET,
      retries: 3,
      retryDelayMs: 20,
    });
    const socket = await connect(instance, 'backend-flaky');
    socket.disconnect();

    await until(async () => (await metric(instance, 'delivered')) === 1, 10_000, 'the delivery');
    expect(await metric(instance, 'retried')).toBe(2);
    expect(await metric(instance, 'failed')).toBe(0);
    expect(backend.notices('backend-flaky')).toHaveLength(3);
  });

  it('arms plain WebSocket connections by the door query or authenticate, not otherwise', async () => {
    await instance?.harness.stop();
    backend.status = () => 204;
    instance = await gateway('solo', { url: backend.url, secret: SECRET });
    const token = (user: string) => hsToken(user, { ttlSeconds: 600 });
    const atDoor = await JsonClient.connected(instance.harness.url, {
      query: { token: token('bot-door'), cancelOnDisconnect: 'true' },
    });
    const viaAuthenticate = await JsonClient.open(instance.harness.url);
    await viaAuthenticate.next('auth_required');
    await viaAuthenticate.command('authenticate', {
      token: token('bot-auth'),
      cancelOnDisconnect: true,
    });
    const unarmed = await JsonClient.connected(instance.harness.url, {
      query: { token: token('bot-unarmed') },
    });
    for (const client of [atDoor, viaAuthenticate, unarmed]) client.ws.close();
    await until(
      () => backend.notices('bot-door').length + backend.notices('bot-auth').length === 2,
      10_000,
      'both armed bots notified',
    );
    // The unarmed close went through the same path: had it fired, it would be here by now.
    await roundTrip(await connect(instance, 'after-bots'));
    expect(backend.notices('bot-unarmed')).toEqual([]);
    expect(backend.notices('bot-door')[0]).toMatchObject({ userId: 'bot-door' });
  });
});
