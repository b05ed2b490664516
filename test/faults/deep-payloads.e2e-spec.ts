import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Producer } from 'kafkajs';
import { io, type Socket } from 'socket.io-client';
import { GatewayHarness, Recorder, command, sleep } from '../support/gateway-harness.js';
import { TestKafka, connectedProducer, ensureTopics } from '../support/kafka.js';
import {
  startGatewayProcess,
  metricValue,
  type GatewayProcess,
} from '../support/gateway-process.js';
import { freePort } from '../support/processes.js';
import { RedisServer } from '../support/redis-server.js';

const RUN = Date.now().toString(36).toUpperCase();
const PUBLISH_KEY = 'deep-publish-key-0123456789';
const TOPIC = `realtime.test-deep-${RUN}`;
const SYMBOL = `DEEP${RUN}`;
const kafka = new TestKafka();

/** `levels` objects nested inside one another: the shape that overflowed the stack. */
const nestedJson = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const deepTrade = (tradeId: number, levels = 4100) =>
  `{"event":"trade","data":{"symbol":"${SYMBOL}","tradeId":${tradeId},"extra":${nestedJson(levels)}}}`;
const trade = (tradeId: number) => ({ event: 'trade', data: { symbol: SYMBOL, tradeId } });

type Instance = GatewayProcess;

const metric = (instance: Instance, series: string) => metricValue(instance.url, series);

afterAll(async () => {
  await kafka.stopStarted();
}, 60_000);

/**
 * Before the bound, 4,100 levels in a field the schema does not name were accepted (202)
 * and then overflowed the stack where the event was encoded: the cluster flush killed the
 * clustered instance, the `ticker:all` digest timer a single one, the Kafka consumer its.
 */
describe('deeply nested and oversized pass-through fields', () => {
  let redis: RedisServer;
  let producer: Producer;
  const instances: Instance[] = [];
  const sockets: Socket[] = [];

  const post = (instance: Instance, body: string) =>
    fetch(`${instance.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
      body,
    });

  async function watcher(instance: Instance): Promise<Recorder> {
    const socket = io(`${instance.url}/ws`, { transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const recorder = new Recorder(socket);
    await recorder.waitFor('connected');
    await command(socket, 'subscribe', { channel: 'trades', symbol: SYMBOL });
    await command(socket, 'subscribe', { channel: 'ticker', symbol: 'all' });
    return recorder;
  }

  beforeAll(async () => {
    const brokers = await kafka.shared();
    await ensureTopics(brokers, [TOPIC], 1);
    producer = await connectedProducer(brokers);
    redis = new RedisServer(await freePort());
    await redis.start();
    for (const withKafka of [true, false]) {
      instances.push(
        await startGatewayProcess({
          REDIS_URL: redis.url,
          PUBLISH_API_KEY: PUBLISH_KEY,
          ALL_TICKERS_INTERVAL_MS: '100',
          MAX_EVENT_BYTES: '65536',
          ...(withKafka
            ? { KAFKA_BROKERS: brokers, KAFKA_TOPICS: TOPIC, KAFKA_GROUP_ID: `deep-${RUN}` }
            : {}),
        }),
      );
    }
  }, 180_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await producer?.disconnect();
    await Promise.all(instances.map((instance) => instance.process.kill()));
    await redis?.stop();
  });

  it('refuses them at every ingress with a reason, and a 202 means every event arrives', async () => {
    const [a, b] = instances as [Instance, Instance];
    const watchers = [await watcher(a), await watcher(b)];

    const single = await post(a, deepTrade(1));
    expect(single.status).toBe(400);
    expect(await single.json()).toMatchObject({
      refused: [
        {
          index: 0,
          code: 'INVALID_PAYLOAD',
          field: 'data',
          message: 'data nests objects and arrays deeper than 32 levels',
        },
      ],
    });

    // All or nothing: one deep event refuses the whole batch.
    const batch = await post(
      a,
      `[${JSON.stringify(trade(2))},${deepTrade(3)},${JSON.stringify(trade(4))}]`,
    );
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as any).refused).toEqual([
      expect.objectContaining({ index: 1, code: 'INVALID_PAYLOAD' }),
    ]);

    // What the `ticker:all` digest would have carried, and a size over MAX_EVENT_BYTES.
    const ticker = await post(
      a,
      `{"event":"ticker.update","data":{"symbol":"${SYMBOL}","lastPrice":"1","extra":${nestedJson(4100)}}}`,
    );
    expect(ticker.status).toBe(400);
    const large = await post(
      b,
      JSON.stringify({ event: 'trade', data: { symbol: SYMBOL, note: 'x'.repeat(70_000) } }),
    );
    expect(large.status).toBe(400);
    expect(((await large.json()) as any).refused[0].message).toBe(
      'data is larger than 65536 bytes as JSON',
    );

    // Kafka: the deep message is refused and counted; the next one on the partition arrives.
    await producer.send({
      topic: TOPIC,
      messages: [
        { key: SYMBOL, value: deepTrade(5) },
        { key: SYMBOL, value: JSON.stringify(trade(6)) },
      ],
    });
    for (const recorder of watchers) await recorder.waitFor('trade', 1, 15_000);
    expect(
      await metric(a, 'realtime_events_rejected_total{ingress="kafka",code="INVALID_PAYLOAD"}'),
    ).toBe(1);

    const accepted = await post(a, JSON.stringify([trade(7), trade(8), trade(9)]));
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ accepted: 3 });
    for (const recorder of watchers) {
      await recorder.waitFor('trade', 4, 5000);
      expect(recorder.payloads('trade').map((t) => t.data.tradeId)).toEqual([6, 7, 8, 9]);
    }

    // Several digest intervals later both processes are still serving.
    await sleep(500);
    for (const instance of instances) {
      expect(instance.process.child.exitCode).toBeNull();
      expect((await fetch(`${instance.url}/health`)).status).toBe(200);
    }
  }, 60_000);
});

describe('deeply nested fields emitted in-process', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ allTickersIntervalMs: 50 });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('are refused and counted; emit does not throw and later events arrive', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket);
    await command(socket, 'subscribe', { channel: 'trades', symbol: SYMBOL });
    await command(socket, 'subscribe', { channel: 'ticker', symbol: 'all' });
    const deep = JSON.parse(deepTrade(1)).data;
    expect(() => gateway.emitter.emit('trade', deep)).not.toThrow();
    expect(() => gateway.emitter.emit('ticker.update', { ...deep, lastPrice: '1' })).not.toThrow();
    const cyclic: Record<string, unknown> = { symbol: SYMBOL, tradeId: 2 };
    cyclic.self = cyclic;
    expect(() => gateway.emitter.emit('trade', cyclic)).not.toThrow();
    gateway.emitter.emit('trade', { symbol: SYMBOL, tradeId: 3 });
    await recorder.waitFor('trade');
    await sleep(200);
    expect(recorder.payloads('trade').map((t) => t.data.tradeId)).toEqual([3]);
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toContain(
      'realtime_events_rejected_total{ingress="emitter",code="INVALID_PAYLOAD"} 3',
    );
  });
});
