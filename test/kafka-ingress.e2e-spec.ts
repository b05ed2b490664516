import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Producer } from 'kafkajs';
import { io } from 'socket.io-client';
import { RealtimeMetrics, RejectedEventLog } from '#realtime/internal';
import { DEFAULT_KAFKA_TOPICS } from '../apps/gateway/src/kafka/kafka-ingress-options.js';
import { KafkaIngressServer } from '../apps/gateway/src/kafka/kafka-ingress.server.js';
import { GatewayHarness, Recorder, command, sleep, until } from './support/gateway-harness.js';
import {
  TestKafka,
  connectedProducer,
  ensureTopics,
  kafkaClient,
  readTopic,
} from './support/kafka.js';
import { freePort, startProcess } from './support/processes.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const RUN = Date.now().toString(36).toUpperCase();
const DLQ = 'realtime.test-dead-letters';
const [MARKET, USERS, SYSTEM] = DEFAULT_KAFKA_TOPICS as [string, string, string];
const kafka = new TestKafka();

const kafkaState = (gateway: GatewayHarness) => gateway.app.get(KafkaIngressServer).state;
const message = (event: string, data: object, key: string) => ({
  key,
  value: JSON.stringify({ event, data }),
});

afterAll(async () => {
  await kafka.stopStarted();
}, 60_000);

describe('Kafka ingress (real broker)', () => {
  let brokers: string;
  let gateway: GatewayHarness;
  let producer: Producer;

  beforeAll(async () => {
    brokers = await kafka.shared();
    await ensureTopics(brokers, [...DEFAULT_KAFKA_TOPICS, DLQ]);
    gateway = await GatewayHarness.start(
      { auth: { secret: TEST_SECRET } },
      {
        kafka: {
          brokers: brokers.split(','),
          topics: DEFAULT_KAFKA_TOPICS,
          groupId: `gateway-test-${RUN}`,
          clientId: 'gateway-test',
          deadLetterTopic: DLQ,
        },
      },
    );
    await until(() => kafkaState(gateway) === 'ready', 60_000, 'the Kafka consumer');
    producer = await connectedProducer(brokers);
  }, 180_000);

  afterAll(async () => {
    await producer?.disconnect();
    await gateway?.stop();
  });

  it('reports ready once the consumer has joined its group', async () => {
    const response = await fetch(`${gateway.url}/health/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      checks: {
        kafka: { ready: true, state: 'ready' },
        draining: { ready: true, state: 'serving' },
      },
    });
  });

  it('delivers events from each default topic to subscribed clients within a second', async () => {
    const symbol = `T${RUN}`;
    const userId = `kafka-user-${RUN}`;
    const socket = await gateway.connect({ auth: { token: hsToken(userId) } });
    const recorder = new Recorder(socket);
    await command(socket, 'subscribe', { channel: 'trades', symbol });
    await command(socket, 'subscribe.private', { channel: 'user.orders' });
    const cases: Array<[string, string, object, string]> = [
      [MARKET, 'trade', { symbol, tradeId: 1, price: '10.5' }, symbol],
      [USERS, 'order.filled', { userId, orderId: 9 }, userId],
      [SYSTEM, 'system.alert', { message: `hello ${RUN}` }, 'system'],
    ];
    for (const [topic, event, data, key] of cases) {
      const sent = Date.now();
      await producer.send({ topic, messages: [message(event, data, key)] });
      const [envelope] = await recorder.waitFor(event, 1, 5000);
      expect(envelope.data).toEqual(data);
      expect(Date.now() - sent).toBeLessThan(1000);
    }
  });

  it('keeps per-key order, delivers every good message once, and dead-letters the poison ones', async () => {
    const symbols = [`A${RUN}`, `B${RUN}`];
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade']);
    for (const symbol of symbols) await command(socket, 'subscribe', { channel: 'trades', symbol });
    const rejected = gateway.app.get(RejectedEventLog);
    const refusedBefore = rejected.total();

    const perKey = 1500;
    const poisonKinds = [
      (i: number) => `not json ${RUN} ${i}`,
      (i: number) => JSON.stringify({ event: `unknown.${RUN}`, data: { i } }),
      (i: number) =>
        JSON.stringify({ event: 'trade', data: { symbol: symbols[0], price: 12, run: RUN, i } }),
      (i: number) => JSON.stringify([{ event: 'trade', run: RUN, i }]),
    ];
    const batch: Array<{ key: string; value: string }> = [];
    let poison = 0;
    for (let i = 0; i < perKey; i++) {
      for (const symbol of symbols) {
        batch.push(message('trade', { symbol, tradeId: i, price: '1.5', quantity: '2' }, symbol));
        if (i % 25 === 0)
          batch.push({ key: symbol, value: poisonKinds[poison++ % poisonKinds.length]!(i) });
      }
    }
    for (let start = 0; start < batch.length; start += 500) {
      await producer.send({ topic: MARKET, messages: batch.slice(start, start + 500) });
    }
    await recorder.waitFor('trade', perKey * symbols.length, 30_000);
    await sleep(500);
    const trades = recorder.payloads('trade');
    expect(trades).toHaveLength(perKey * symbols.length);
    for (const symbol of symbols) {
      const ids = trades.filter((e) => e.data.symbol === symbol).map((e) => e.data.tradeId);
      expect(ids).toEqual(Array.from({ length: perKey }, (_, i) => i));
    }
    await until(() => rejected.total() - refusedBefore === poison, 5000, 'the refusal count');
    const metrics = gateway.app.get(RealtimeMetrics).registry;
    const lag = await metrics.getSingleMetricAsString('realtime_kafka_consumer_lag');
    expect(lag).toMatch(
      new RegExp(`realtime_kafka_consumer_lag\\{topic="${MARKET}",partition="\\d+"\\} \\d+`),
    );
    const rejectedMetric = await metrics.getSingleMetricAsString('realtime_events_rejected_total');
    expect(rejectedMetric).toContain(
      'realtime_events_rejected_total{ingress="kafka",code="INVALID_PAYLOAD"}',
    );

    const dead = await readTopic(
      brokers,
      DLQ,
      (messages) => messages.filter((m) => m.value.includes(RUN)).length >= poison,
    );
    const ours = dead.filter((m) => m.value.includes(RUN));
    expect(ours).toHaveLength(poison);
    for (const letter of ours) {
      expect(letter.headers['x-realtime-source-topic']).toBe(MARKET);
      expect(letter.headers['x-realtime-error-code']).toMatch(/^INVALID_(PAYLOAD|SYMBOL)$/);
      expect(letter.headers['x-realtime-error']).toEqual(expect.any(String));
      expect(symbols).toContain(letter.key);
    }
    expect(new Set(ours.map((m) => m.headers['x-realtime-error']?.split(' ')[0]))).toEqual(
      new Set(['message', 'event', 'data.price']),
    );
  }, 90_000);

  it('carries a producer in another process to a client of the gateway process', async () => {
    const port = await freePort();
    const symbol = `P${RUN}`;
    const gatewayProcess = await startProcess(
      'dist/apps/gateway/src/main.js',
      {
        PORT: String(port),
        HOST: '127.0.0.1',
        KAFKA_BROKERS: brokers,
        KAFKA_GROUP_ID: `gateway-process-${RUN}`,
        DRAIN_TIMEOUT_MS: '500',
      },
      /listening on/,
    );
    try {
      await until(
        async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200,
        60_000,
        'readiness',
      );
      const socket = io(`http://127.0.0.1:${port}/ws`, {
        transports: ['websocket'],
        reconnection: false,
      });
      const recorder = new Recorder(socket, ['trade']);
      await new Promise((resolve) => socket.once('connected', resolve));
      await command(socket, 'subscribe', { channel: 'trades', symbol });
      await producer.send({
        topic: MARKET,
        messages: [message('trade', { symbol, tradeId: 42 }, symbol)],
      });
      const [trade] = await recorder.waitFor('trade', 1, 5000);
      expect(trade.data).toEqual({ symbol, tradeId: 42 });
      socket.disconnect();
      // SIGTERM drains and leaves the consumer group cleanly: the group has no member left.
      expect(await gatewayProcess.stop()).toBe(0);
      const admin = kafkaClient(brokers).admin();
      await admin.connect();
      try {
        const {
          groups: [group],
        } = await admin.describeGroups([`gateway-process-${RUN}`]);
        expect(group!.members).toEqual([]);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await gatewayProcess.stop();
    }
  }, 90_000);
});

describe('Kafka ingress: broker down at start, restarted mid-stream', () => {
  const port = Number(process.env.KAFKA_RESTART_TEST_PORT ?? 29192);
  const brokers = `127.0.0.1:${port}`;
  const symbol = `R${RUN}`;
  let gateway: GatewayHarness;

  beforeAll(async () => {
    await kafka.stop(port);
    gateway = await GatewayHarness.start(
      {},
      {
        kafka: {
          brokers: [brokers],
          topics: [MARKET],
          groupId: `restart-test-${RUN}`,
          clientId: 'restart-test',
        },
      },
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await kafka.stop(port);
  }, 60_000);

  it('serves WebSockets, reports not ready, then consumes once the broker comes, and again after a restart', async () => {
    const down = await fetch(`${gateway.url}/health/ready`);
    expect(down.status).toBe(503);
    expect(((await down.json()) as any).checks.kafka).toMatchObject({
      ready: false,
      state: 'connecting',
    });
    const socket = await gateway.connect();
    expect((await command(socket, 'ping')).ok).toBe(true);
    const recorder = new Recorder(socket, ['trade']);
    await command(socket, 'subscribe', { channel: 'trades', symbol });

    await kafka.start(port);
    await ensureTopics(brokers, [MARKET]);
    await until(
      () => kafkaState(gateway) === 'ready',
      90_000,
      'the consumer after the broker came up',
    );
    const produce = async (from: number, count: number) => {
      const producer = await connectedProducer(brokers);
      const messages = Array.from({ length: count }, (_, i) =>
        message('trade', { symbol, tradeId: from + i }, symbol),
      );
      await producer.send({ topic: MARKET, messages });
      await producer.disconnect();
    };
    await produce(0, 50);
    await recorder.waitFor('trade', 50, 10_000);

    await kafka.stop(port);
    await until(
      () => kafkaState(gateway) !== 'ready',
      60_000,
      'readiness to notice the broker is gone',
    );
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(503);
    expect((await command(socket, 'ping')).ok).toBe(true);

    await kafka.start(port);
    await until(() => kafkaState(gateway) === 'ready', 120_000, 'the consumer after the restart');
    await produce(50, 50);
    const ids = async () => [
      ...new Set(recorder.payloads('trade').map((e) => e.data.tradeId as number)),
    ];
    await until(async () => (await ids()).length === 100, 30_000, 'every trade after the restart');
    expect(await ids()).toEqual(Array.from({ length: 100 }, (_, i) => i));
  }, 300_000);
});
