import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command, sleep, until } from './support/gateway-harness.js';
import {
  metricValue,
  startGatewayProcess,
  type GatewayProcess,
} from './support/gateway-process.js';
import { freePort } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const PUBLISH_KEY = 'recovery-publish-key-0123456789';
const SYMBOL = 'RECUSDT';
/** Small enough that `too_old` takes a few dozen trades; the 200 trades still fit. */
const HISTORY = 'private=100/5m,trades=300/1m';

interface Position {
  offset: number;
  epoch: string;
}

/** A client's view of the stream: every envelope of the events it watches, in arrival order. */
class Client {
  readonly recorder: Recorder;

  private constructor(readonly socket: Socket) {
    this.recorder = new Recorder(socket);
  }

  static async connect(gateway: GatewayProcess, user?: string): Promise<Client> {
    const socket = io(`${gateway.url}/ws`, {
      transports: ['websocket'],
      reconnection: false,
      auth: user ? { token: hsToken(user) } : {},
    });
    const client = new Client(socket);
    await client.recorder.waitFor('connected', 1, 10_000);
    return client;
  }

  envelopes(event: string): any[] {
    return this.recorder.payloads(event);
  }

  /** The position of the last message of `event` this client got. */
  last(event: string): Position {
    const envelopes = this.envelopes(event);
    const { offset, epoch } = envelopes[envelopes.length - 1];
    return { offset, epoch };
  }

  close(): void {
    this.socket.disconnect();
  }
}

describe('recovery across three gateway instances on one Redis', () => {
  let redis: RedisServer;
  const gateways: GatewayProcess[] = [];
  const clients: Client[] = [];
  let nextTrade = 1;

  const env = () => ({
    REDIS_URL: redis.url,
    JWT_SECRET: TEST_SECRET,
    PUBLISH_API_KEY: PUBLISH_KEY,
    DRAIN_TIMEOUT_MS: '1000',
    HISTORY,
  });

  async function publish(gateway: GatewayProcess, events: unknown[]): Promise<void> {
    const response = await fetch(`${gateway.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    expect(response.status).toBe(202);
  }

  function trades(count: number) {
    return Array.from({ length: count }, () => ({
      event: 'trade',
      data: {
        symbol: SYMBOL,
        tradeId: nextTrade++,
        price: '100',
        quantity: '1',
        side: 'buy',
        timestamp: Date.now(),
      },
    }));
  }

  function fills(user: string, from: number, count: number) {
    return Array.from({ length: count }, (_, i) => ({
      event: 'order.filled',
      data: {
        userId: user,
        orderId: `o-${from + i}`,
        symbol: SYMBOL,
        side: 'buy',
        price: '100',
        quantity: '1',
        filledQuantity: '1',
        status: 'filled',
        timestamp: Date.now(),
      },
    }));
  }

  async function connect(gateway: GatewayProcess, user?: string): Promise<Client> {
    const client = await Client.connect(gateway, user);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    for (let i = 0; i < 3; i++)
      gateways.push(await startGatewayProcess({ ...env(), INSTANCE_ID: `gateway-${'ABC'[i]}` }));
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    for (const gateway of gateways) await gateway.process.stop();
    await redis.stop();
  }, 60_000);

  it('gives a client that dropped off A, reconnecting to C, every event published through B exactly once, in order, then live ones', async () => {
    const [a, b, c] = gateways as [GatewayProcess, GatewayProcess, GatewayProcess];
    const first = await connect(a, 'u-recover');
    const opened = await command(first.socket, 'subscribe', { channel: 'trades', symbol: SYMBOL });
    expect(opened).toMatchObject({ ok: true, position: { offset: expect.any(Number) } });
    const privateOpened = await command(first.socket, 'subscribe.private', {
      channel: 'user.orders',
    });
    expect(privateOpened).toEqual({
      ok: true,
      channel: 'user.orders',
      position: { offset: 0, epoch: expect.any(String) },
    });
    await publish(b, [...trades(5), ...fills('u-recover', 0, 3)]);
    await first.recorder.waitFor('trade', 5);
    await first.recorder.waitFor('order.filled', 3);
    // Every instance counts the same offsets: B's events arrive on A one by one from the answer's.
    expect(first.envelopes('trade').map((e) => e.offset)).toEqual(
      [1, 2, 3, 4, 5].map((i) => opened.position.offset + i),
    );
    const tradesAt = first.last('trade');
    const ordersAt = first.last('order.filled');
    // A client on B that stays connected throughout: every instance must agree on the order.
    const witness = await connect(b);
    await command(witness.socket, 'subscribe', { channel: 'trades', symbol: SYMBOL });
    expect(ordersAt.offset).toBe(3);
    first.close();

    const missedTrades = trades(200);
    const missedFills = fills('u-recover', 3, 50);
    for (let i = 0; i < 4; i++)
      await publish(b, [
        ...missedTrades.slice(i * 50, i * 50 + 50),
        ...missedFills.slice(i * 12, i * 12 + 12),
      ]);
    await publish(b, missedFills.slice(48));

    // Live trades keep coming through A and B while the client comes back on C.
    let live = true;
    const viaA: number[] = [];
    const viaB: number[] = [];
    const livePublisher = (async () => {
      for (let round = 0; live && round < 200; round++) {
        const batch = trades(3);
        (round % 2 ? viaA : viaB).push(...batch.map((t) => t.data.tradeId));
        await publish(round % 2 ? a : b, batch);
        await sleep(5);
      }
    })();
    const back = await connect(c, 'u-recover');
    const [tradesAnswer, ordersAnswer] = await Promise.all([
      command(back.socket, 'subscribe', { channel: 'trades', symbol: SYMBOL, since: tradesAt }),
      command(back.socket, 'subscribe.private', { channel: 'user.orders', since: ordersAt }),
    ]);
    await sleep(300);
    live = false;
    await livePublisher;
    const published = nextTrade - 1;

    expect(tradesAnswer).toMatchObject({
      ok: true,
      recovered: true,
      position: { epoch: tradesAt.epoch },
    });
    expect(tradesAnswer.reason).toBeUndefined();
    expect(ordersAnswer).toMatchObject({
      ok: true,
      recovered: true,
      position: { offset: 53, epoch: ordersAt.epoch },
    });
    await until(() => back.envelopes('trade').length >= published - 5, 10_000, 'every trade on C');
    await until(
      () => witness.envelopes('trade').filter((e) => !e.replay).length >= published - 5,
      10_000,
      'every trade on the witness',
    );
    const got = back.envelopes('trade');
    const ids = got.map((e) => e.data.tradeId as number);
    // Exactly once, no hole between the recovered ones and the live ones, in offset order.
    expect([...ids].sort((x, y) => x - y)).toEqual(
      Array.from({ length: published - 5 }, (_, i) => i + 6),
    );
    expect(got.map((e) => e.offset)).toEqual(got.map((_, i) => tradesAt.offset + 1 + i));
    // The missed ones as B took them in; live ones keep each entry instance's order, and C
    // sees the very order the client on B saw (events of two entries interleave as Redis
    // positioned them, the same everywhere).
    expect(ids.slice(0, 200)).toEqual(missedTrades.map((t) => t.data.tradeId));
    expect(ids.filter((id) => viaA.includes(id))).toEqual(viaA);
    expect(ids.filter((id) => viaB.includes(id))).toEqual(viaB);
    const witnessed = witness.envelopes('trade').filter((e) => !e.replay);
    expect(witnessed.map((e) => [e.offset, e.data.tradeId])).toEqual(
      got.map((e) => [e.offset, e.data.tradeId]),
    );
    expect(got.every((e) => e.epoch === tradesAt.epoch && e.replay === undefined)).toBe(true);
    const orders = back.envelopes('order.filled');
    expect(orders.map((e) => e.data.orderId)).toEqual(missedFills.map((f) => f.data.orderId));
    expect(orders.map((e) => e.offset)).toEqual(missedFills.map((_, i) => 4 + i));
    expect(
      await metricValue(c.url, 'realtime_recoveries_total{channel="trades",outcome="recovered"}'),
    ).toBe(1);
    expect(
      await metricValue(c.url, 'realtime_recovered_messages_total{channel="user.orders"}'),
    ).toBe(50);
    back.close();
  }, 60_000);

  it('recovers from history in Redis after the gateway the client was on restarts', async () => {
    const a = gateways[0]!;
    const client = await connect(gateways[2]!, 'u-restart');
    await command(client.socket, 'subscribe.private', { channel: 'user.orders' });
    await publish(a, fills('u-restart', 0, 2));
    await client.recorder.waitFor('order.filled', 2);
    const at = client.last('order.filled');
    client.close();
    await gateways[2]!.process.stop();
    await publish(a, fills('u-restart', 2, 10));
    gateways[2] = await startGatewayProcess({ ...env(), INSTANCE_ID: 'gateway-C' });
    const back = await connect(gateways[2], 'u-restart');
    const answer = await command(back.socket, 'subscribe.private', {
      channel: 'user.orders',
      since: at,
    });
    expect(answer).toMatchObject({ recovered: true, position: { offset: 12, epoch: at.epoch } });
    await back.recorder.waitFor('order.filled', 10);
    await publish(a, fills('u-restart', 12, 1));
    const orders = await back.recorder.waitFor('order.filled', 11);
    expect(orders.map((e) => [e.offset, e.data.orderId])).toEqual(
      Array.from({ length: 11 }, (_, i) => [3 + i, `o-${2 + i}`]),
    );
  }, 90_000);

  it('says too_old past the history, and sends the current state instead', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    const client = await connect(a);
    await command(client.socket, 'subscribe', { channel: 'trades', symbol: 'OLDUSDT' });
    const old = (count: number) =>
      trades(count).map((t) => ({ ...t, data: { ...t.data, symbol: 'OLDUSDT' } }));
    await publish(b, old(3));
    await client.recorder.waitFor('trade', 3);
    const at = client.last('trade');
    client.close();
    // 300 kept: 301 more and the first one missed is gone.
    for (let i = 0; i < 7; i++) await publish(b, old(43));
    const back = await connect(b);
    const answer = await command(back.socket, 'subscribe', {
      channel: 'trades',
      symbol: 'OLDUSDT',
      since: at,
    });
    expect(answer).toEqual({
      ok: true,
      channel: 'trades',
      symbol: 'OLDUSDT',
      position: { offset: at.offset + 301, epoch: at.epoch },
      recovered: false,
      reason: 'too_old',
    });
    const replayed = await back.recorder.waitFor('trade', 20);
    expect(replayed.every((e) => e.replay === true && e.offset === at.offset + 301)).toBe(true);
    expect(
      await metricValue(b.url, 'realtime_recoveries_total{channel="trades",outcome="too_old"}'),
    ).toBe(1);
  }, 60_000);

  it('recovers order books by snapshot (history_off), with update ids that continue it', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    await publish(b, [
      {
        event: 'orderbook.snapshot',
        data: { symbol: 'BOOKUSDT', lastUpdateId: 10, bids: [['99', '1']], asks: [['101', '1']] },
      },
    ]);
    const client = await connect(a);
    await command(client.socket, 'subscribe', { channel: 'orderbook', symbol: 'BOOKUSDT' });
    const [snapshot] = await client.recorder.waitFor('orderbook.snapshot');
    client.close();
    await publish(b, [
      {
        event: 'orderbook.update',
        data: {
          symbol: 'BOOKUSDT',
          firstUpdateId: 11,
          lastUpdateId: 12,
          bids: [['99', '2']],
          asks: [],
        },
      },
    ]);
    await sleep(200);
    const back = await connect(a);
    const answer = await command(back.socket, 'subscribe', {
      channel: 'orderbook',
      symbol: 'BOOKUSDT',
      since: { offset: snapshot.offset, epoch: snapshot.epoch },
    });
    expect(answer).toMatchObject({ recovered: false, reason: 'history_off' });
    const [fresh] = await back.recorder.waitFor('orderbook.snapshot');
    expect(fresh).toMatchObject({ replay: true, data: { lastUpdateId: 12, bids: [['99', '2']] } });
    await publish(b, [
      {
        event: 'orderbook.update',
        data: {
          symbol: 'BOOKUSDT',
          firstUpdateId: 13,
          lastUpdateId: 13,
          bids: [],
          asks: [['101', '0']],
        },
      },
    ]);
    const [update] = await back.recorder.waitFor('orderbook.update');
    expect(update.data.firstUpdateId).toBe(fresh.data.lastUpdateId + 1);
    expect(update.offset).toBe(fresh.offset + 1);
  }, 60_000);

  it('says epoch_changed once Redis lost its data, and every instance serves the new stream', async () => {
    const [a, b, c] = gateways as [GatewayProcess, GatewayProcess, GatewayProcess];
    const client = await connect(a, 'u-epoch');
    await command(client.socket, 'subscribe.private', { channel: 'user.orders' });
    await publish(b, fills('u-epoch', 0, 2));
    await client.recorder.waitFor('order.filled', 2);
    const at = client.last('order.filled');
    client.close();
    await redis.stop();
    await redis.start();
    for (const gateway of gateways)
      await until(
        async () => (await fetch(`${gateway.url}/health/ready`)).status === 200,
        20_000,
        'ready again',
      );
    await publish(b, fills('u-epoch', 2, 1));
    const back = await connect(c, 'u-epoch');
    const answer = await command(back.socket, 'subscribe.private', {
      channel: 'user.orders',
      since: at,
    });
    expect(answer).toMatchObject({ ok: true, recovered: false, reason: 'epoch_changed' });
    expect(answer.position.epoch).not.toBe(at.epoch);
    expect(answer.position.offset).toBe(1);
    await publish(a, fills('u-epoch', 3, 1));
    const [live] = await back.recorder.waitFor('order.filled');
    expect(live).toMatchObject({
      offset: 2,
      epoch: answer.position.epoch,
      data: { orderId: 'o-3' },
    });
  }, 90_000);
});
