import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command, sleep, until } from '../support/gateway-harness.js';
import {
  startGatewayProcess,
  metricValue,
  type GatewayProcess,
} from '../support/gateway-process.js';
import { freePort } from '../support/processes.js';
import { RedisServer } from '../support/redis-server.js';
import { TEST_SECRET, hsToken } from '../support/tokens.js';

const PUBLISH_KEY = 'outage-publish-key-0123456789';
const SYMBOL = 'OUTAGEUSDT';

interface Instance extends GatewayProcess {
  name: string;
  /** Trade ids this instance takes in start here, so a receiver can tell where each came from. */
  idBase: number;
}

const isReady = async (instance: Instance) =>
  (await fetch(`${instance.url}/health/ready`)).status === 200;

const metric = (instance: Instance, series: string) => metricValue(instance.url, series);

/**
 * Redis stopped for 10 s under traffic on two instances. Before the fix the adapter's
 * unhandled PUBLISH rejection ended both processes about 5 s into the outage.
 */
describe('a Redis outage under traffic', () => {
  let redis: RedisServer;
  const instances: Instance[] = [];
  const sockets: Socket[] = [];
  let traffic: NodeJS.Timeout | undefined;
  let sent = 0;

  const publish = (instance: Instance, tradeId: number) =>
    fetch(`${instance.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'trade', data: { symbol: SYMBOL, tradeId } }),
    });

  async function watcher(instance: Instance, token?: string): Promise<Recorder> {
    const socket = io(`${instance.url}/ws`, {
      transports: ['websocket'],
      reconnection: false,
      auth: token ? { token } : {},
    });
    sockets.push(socket);
    const recorder = new Recorder(socket);
    await recorder.waitFor('connected');
    await command(socket, 'subscribe', { channel: 'trades', symbol: SYMBOL });
    return recorder;
  }

  const tradeIds = (recorder: Recorder) =>
    recorder.payloads('trade').map((trade) => trade.data.tradeId as number);
  const from = (instance: Instance, ids: number[]) =>
    ids.filter((id) => id >= instance.idBase && id < instance.idBase + 1_000_000);

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    for (const [index, name] of ['outage-a', 'outage-b'].entries()) {
      const gateway = await startGatewayProcess({
        REDIS_URL: redis.url,
        JWT_SECRET: TEST_SECRET,
        PUBLISH_API_KEY: PUBLISH_KEY,
        INSTANCE_ID: name,
      });
      instances.push({ ...gateway, name, idBase: (index + 1) * 1_000_000 });
    }
  }, 60_000);

  afterAll(async () => {
    clearInterval(traffic);
    for (const socket of sockets) socket.disconnect();
    await Promise.all(instances.map((instance) => instance.process.kill()));
    await redis?.stop();
  });

  it('keeps both instances serving their own clients, then rejoins the cluster', async () => {
    const [a, b] = instances as [Instance, Instance];
    const onA = await watcher(a);
    const onB = await watcher(b, hsToken('outage-user'));

    // Steady traffic into both instances for the whole test.
    traffic = setInterval(() => {
      sent++;
      for (const instance of instances)
        publish(instance, instance.idBase + sent).catch(() => undefined);
    }, 50);
    await until(
      () => from(b, tradeIds(onA)).length > 5 && from(a, tradeIds(onB)).length > 5,
      10_000,
      'cross-instance delivery before the outage',
    );

    const shared = onA.payloads('trade').at(-1) as { offset: number; epoch: string };
    await redis.stop();
    const outageStarted = Date.now();
    await until(async () => !(await isReady(a)) && !(await isReady(b)), 10_000, 'both not ready');
    const readiness = (await (await fetch(`${a.url}/health/ready`)).json()) as any;
    expect(readiness.checks.redis).toMatchObject({ ready: false, state: 'connecting' });

    // A new connection during the outage is accepted at once (limits count locally).
    const connecting = Date.now();
    const late = await watcher(a, hsToken('late-user'));
    const acceptedWithinMs = Date.now() - connecting;
    expect(acceptedWithinMs).toBeLessThan(2000);

    // Recovery from the shared history is answered at once, and honestly: it cannot be read.
    const recovering = io(`${a.url}/ws`, { transports: ['websocket'], reconnection: false });
    sockets.push(recovering);
    await new Recorder(recovering).waitFor('connected');
    const asked = Date.now();
    const answer = await command(recovering, 'subscribe', {
      channel: 'trades',
      symbol: SYMBOL,
      since: { offset: shared.offset, epoch: shared.epoch },
    });
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(answer).toMatchObject({ ok: true, recovered: false, reason: 'unavailable' });
    expect(answer.position.epoch).not.toBe(shared.epoch);

    // Operator counts answer, for this instance alone, instead of waiting on Redis.
    const stats = await fetch(`${a.url}/admin/stats`, {
      headers: { authorization: `Bearer ${hsToken('operator', { claims: { roles: ['admin'] } })}` },
      signal: AbortSignal.timeout(5000),
    });
    expect(stats.status).toBe(200);
    expect(((await stats.json()) as any).cluster.instances.map((i: any) => i.instanceId)).toEqual([
      'outage-a',
    ]);

    const ownBefore = [from(a, tradeIds(onA)).length, from(b, tradeIds(onB)).length];
    while (Date.now() - outageStarted < 10_000) await sleep(250);

    // Both processes lived through the outage and kept delivering their own events.
    for (const instance of instances) expect(instance.process.child.exitCode).toBeNull();
    expect(from(a, tradeIds(onA)).length).toBeGreaterThan(ownBefore[0]! + 50);
    expect(from(b, tradeIds(onB)).length).toBeGreaterThan(ownBefore[1]! + 50);
    expect(from(a, tradeIds(late)).length).toBeGreaterThan(50);
    // Their own events stayed in order.
    for (const [recorder, instance] of [
      [onA, a],
      [onB, b],
    ] as const) {
      const own = from(instance, tradeIds(recorder));
      expect(own).toEqual([...own].sort((x, y) => x - y));
    }
    // Positioned by the instance alone, under an epoch of its own, with no gap.
    const local = onA.payloads('trade').filter((t) => t.epoch !== shared.epoch);
    expect(local.length).toBeGreaterThan(50);
    expect(new Set(local.map((t) => t.epoch)).size).toBe(1);
    expect(local.map((t) => t.offset)).toEqual(local.map((_, i) => local[0].offset + i));
    expect(await metric(a, 'realtime_cluster_events_unsent_total')).toBeGreaterThan(50);
    expect(await metric(b, 'realtime_cluster_events_unsent_total')).toBeGreaterThan(50);

    await redis.start();
    await until(async () => (await isReady(a)) && (await isReady(b)), 20_000, 'both ready again');
    const resumedAfter = sent;
    await until(
      () =>
        from(b, tradeIds(onA)).some((id) => id > b.idBase + resumedAfter) &&
        from(a, tradeIds(onB)).some((id) => id > a.idBase + resumedAfter),
      15_000,
      'cross-instance delivery after Redis returned',
    );
    clearInterval(traffic);
    for (const instance of instances) expect(instance.process.child.exitCode).toBeNull();
    // One shared stream again: the restarted Redis kept nothing, so it is a new epoch, the
    // same on both instances, not either one's own.
    await sleep(200);
    const [lastOnA, lastOnB] = [onA.payloads('trade').at(-1), onB.payloads('trade').at(-1)];
    expect(lastOnA.epoch).not.toBe(shared.epoch);
    expect(lastOnA.epoch).not.toBe(local[0].epoch);
    expect(lastOnB.epoch).toBe(lastOnA.epoch);
    expect(lastOnB.offset).toBe(lastOnA.offset);

    // One warning per outage, one line when it ends, however many reconnect attempts failed.
    for (const instance of instances) {
      const output = instance.process.output();
      expect(output.match(/Redis unavailable/g)).toHaveLength(1);
      expect(output.match(/Redis connected again/g)).toHaveLength(1);
    }
  }, 90_000);
});
