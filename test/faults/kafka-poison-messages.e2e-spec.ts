import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Admin, IHeaders, Message, Producer } from 'kafkajs';
import type { Socket } from 'socket.io-client';
import { KafkaIngressServer } from '../../apps/gateway/src/kafka/kafka-ingress.server.js';
import type { KafkaIngressOptions } from '../../apps/gateway/src/kafka/kafka-ingress-options.js';
import { GatewayHarness, Recorder, command, sleep, until } from '../support/gateway-harness.js';
import { TestKafka, connectedProducer, ensureTopics, kafkaClient } from '../support/kafka.js';

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`.toUpperCase();
const kafka = new TestKafka();

const trade = (symbol: string, tradeId: number) =>
  JSON.stringify({ event: 'trade', data: { symbol, tradeId, price: '1.5', quantity: '2' } });

interface Poison {
  label: string;
  message: Message;
  reason: RegExp;
}

/** Every kind of record that is not a keyed JSON event; each must be refused, not retried. */
const poisons = (symbol: string): Poison[] => [
  { label: 'tombstone', message: { key: symbol, value: null }, reason: /^value is null/ },
  {
    label: 'headers only',
    message: { key: symbol, value: null, headers: { 'x-origin': `headers-only ${RUN}` } },
    reason: /^value is null/,
  },
  {
    label: 'empty value',
    message: { key: symbol, value: '', headers: { 'x-origin': `empty ${RUN}` } },
    reason: /^value is empty/,
  },
  {
    label: 'binary',
    message: { key: symbol, value: Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe]) },
    reason: /^value is not UTF-8/,
  },
  {
    // JSON around bytes that are not UTF-8: decoding would have turned them into U+FFFD.
    label: 'JSON with invalid UTF-8',
    message: {
      key: symbol,
      value: Buffer.concat([
        Buffer.from(`{"event":"trade","data":{"symbol":"${symbol}","tradeId":9001,"note":"`),
        Buffer.from([0xff, 0xfe, 0xfd]),
        Buffer.from('"}}'),
      ]),
    },
    reason: /^value is not UTF-8/,
  },
  {
    label: 'schema-registry framing',
    message: { key: symbol, value: Buffer.from([0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x0a]) },
    reason: /^value starts with a zero byte/,
  },
  {
    label: 'null key',
    message: { key: null, value: trade(symbol, 9002) },
    reason: /^key is missing/,
  },
  {
    label: 'empty key',
    message: { key: '', value: trade(symbol, 9003) },
    reason: /^key is missing/,
  },
];

interface RawRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

let readers = 0;

/** Reads a topic from the start, bytes as they are, until `count` records came. */
async function readRecords(
  brokers: string,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<RawRecord[]> {
  const consumer = kafkaClient(brokers).consumer({
    groupId: `poison-reader-${RUN}-${readers++}`,
  });
  const records: RawRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {}))
          headers[name] = String(value);
        records.push({ offset: message.offset, key: message.key, value: message.value, headers });
      },
    });
    await until(() => records.length >= count, timeoutMs, `${count} records in ${topic}`);
    // Long enough for a duplicate copy to show up too.
    await sleep(1000);
    return records;
  } finally {
    await consumer.disconnect();
  }
}

const bytes = (value: Message['value'] | undefined): Buffer | null =>
  value === null || value === undefined ? null : Buffer.from(value);

/** Samples readiness and the consumer state until stopped; both must hold all along. */
class ReadinessWatch {
  readonly seen = new Set<string>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(gateway: GatewayHarness) {
    this.done = (async () => {
      while (this.running) {
        const status = await fetch(`${gateway.url}/health/ready`).then(
          (response) => response.status,
          () => 'unreachable',
        );
        this.seen.add(`${status} ${gateway.app.get(KafkaIngressServer).state}`);
        await sleep(100);
      }
    })();
  }

  async stop(): Promise<Set<string>> {
    this.running = false;
    await this.done;
    return this.seen;
  }
}

async function metric(gateway: GatewayHarness, series: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Waits until the group's committed offset on each partition reaches the partition's end. */
async function committedToEnd(admin: Admin, groupId: string, topic: string): Promise<void> {
  const ends = await admin.fetchTopicOffsets(topic);
  await until(
    async () => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return ends.every(
        (end) =>
          committed!.partitions.find((p) => p.partition === end.partition)?.offset === end.high,
      );
    },
    15_000,
    `group ${groupId} to commit ${topic} to its end`,
  );
}

afterAll(async () => {
  await kafka.stopStarted();
}, 60_000);

describe('Kafka poison records (real broker)', () => {
  let brokers: string;
  let producer: Producer;
  let admin: Admin;

  beforeAll(async () => {
    brokers = await kafka.shared();
    producer = await connectedProducer(brokers);
    admin = kafkaClient(brokers).admin();
    await admin.connect();
  }, 180_000);

  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
  });

  const options = (name: string, deadLetterTopic?: string): KafkaIngressOptions => ({
    brokers: brokers.split(','),
    topics: [`poison.${name}.${RUN}`],
    groupId: `poison-${name}-${RUN}`,
    clientId: `poison-${name}`,
    deadLetterTopic,
  });

  async function startGateway(kafkaOptions: KafkaIngressOptions): Promise<GatewayHarness> {
    const gateway = await GatewayHarness.start({}, { kafka: kafkaOptions });
    await until(
      () => gateway.app.get(KafkaIngressServer).state === 'ready',
      60_000,
      'the Kafka consumer',
    );
    return gateway;
  }

  async function subscriber(gateway: GatewayHarness, symbol: string): Promise<Recorder> {
    const socket: Socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade']);
    await command(socket, 'subscribe', { channel: 'trades', symbol });
    return recorder;
  }

  /** Valid trades 0..n-1 with every poison kind between them, then more trades: one send. */
  function stream(symbol: string, after = 200): { messages: Message[]; trades: number } {
    const messages: Message[] = [];
    let tradeId = 0;
    for (const poison of poisons(symbol)) {
      messages.push({ key: symbol, value: trade(symbol, tradeId++) });
      messages.push(poison.message);
    }
    for (let i = 0; i < after; i++) messages.push({ key: symbol, value: trade(symbol, tradeId++) });
    return { messages, trades: tradeId };
  }

  const tradeIds = (recorder: Recorder) =>
    recorder.payloads('trade').map((envelope) => envelope.data.tradeId as number);

  it('with KAFKA_DLQ_TOPIC: delivers every valid record in order, dead-letters each poison one with its reason, commits past them', async () => {
    const ingress = options('dlq', `poison.dlq.${RUN}.dead-letters`);
    const topic = ingress.topics[0]!;
    await ensureTopics(brokers, [topic, ingress.deadLetterTopic!], 1);
    const symbol = `PD${RUN}`;
    const gateway = await startGateway(ingress);
    let watch: ReadinessWatch | undefined;
    try {
      const recorder = await subscriber(gateway, symbol);
      watch = new ReadinessWatch(gateway);
      const refusedSeries =
        'realtime_events_rejected_total{ingress="kafka",code="INVALID_PAYLOAD"}';
      const refusedBefore = await metric(gateway, refusedSeries);

      const { messages, trades } = stream(symbol);
      const [sent] = await producer.send({ topic, messages });
      const base = BigInt(sent!.baseOffset!);
      await recorder.waitFor('trade', trades, 30_000);
      await sleep(500);
      expect(tradeIds(recorder)).toEqual(Array.from({ length: trades }, (_, i) => i));

      const kinds = poisons(symbol);
      const letters = await readRecords(brokers, ingress.deadLetterTopic!, kinds.length);
      expect(letters).toHaveLength(kinds.length);
      kinds.forEach((poison, index) => {
        // The poison record sits right after trade `index` in the send.
        const offset = String(base + BigInt(index * 2 + 1));
        const letter = letters.find((l) => l.headers['x-realtime-source-offset'] === offset);
        expect({ label: poison.label, found: letter !== undefined }).toEqual({
          label: poison.label,
          found: true,
        });
        expect(letter!.headers['x-realtime-error-code']).toBe('INVALID_PAYLOAD');
        expect(letter!.headers['x-realtime-error']).toMatch(poison.reason);
        expect(letter!.headers['x-realtime-source-topic']).toBe(topic);
        expect(letter!.headers['x-realtime-source-partition']).toBe('0');
        expect(letter!.value).toEqual(bytes(poison.message.value));
        expect(letter!.key).toEqual(bytes(poison.message.key));
        for (const [name, value] of Object.entries((poison.message.headers ?? {}) as IHeaders))
          expect(letter!.headers[name]).toBe(String(value));
      });
      expect((await metric(gateway, refusedSeries)) - refusedBefore).toBe(kinds.length);

      await committedToEnd(admin, ingress.groupId, topic);
      expect(await watch.stop()).toEqual(new Set(['200 ready']));
    } finally {
      await watch?.stop();
      await gateway.stop();
    }

    // A consumer of the same group starts after the refused records: none comes again.
    const restarted = await startGateway(ingress);
    try {
      const recorder = await subscriber(restarted, symbol);
      await producer.send({ topic, messages: [{ key: symbol, value: trade(symbol, 5000) }] });
      await recorder.waitFor('trade', 1, 10_000);
      await sleep(1000);
      expect(tradeIds(recorder)).toEqual([5000]);
      const letters = await readRecords(brokers, ingress.deadLetterTopic!, poisons(symbol).length);
      expect(letters).toHaveLength(poisons(symbol).length);
      await committedToEnd(admin, ingress.groupId, topic);
    } finally {
      await restarted.stop();
    }
  }, 180_000);

  it('without KAFKA_DLQ_TOPIC: refuses and counts each poison record, delivers the rest in order, commits past them', async () => {
    const ingress = options('plain');
    const topic = ingress.topics[0]!;
    await ensureTopics(brokers, [topic], 1);
    const symbol = `PN${RUN}`;
    const gateway = await startGateway(ingress);
    let watch: ReadinessWatch | undefined;
    try {
      const recorder = await subscriber(gateway, symbol);
      watch = new ReadinessWatch(gateway);
      const refusedSeries =
        'realtime_events_rejected_total{ingress="kafka",code="INVALID_PAYLOAD"}';
      const refusedBefore = await metric(gateway, refusedSeries);

      const { messages, trades } = stream(symbol);
      await producer.send({ topic, messages });
      await recorder.waitFor('trade', trades, 30_000);
      await sleep(500);
      expect(tradeIds(recorder)).toEqual(Array.from({ length: trades }, (_, i) => i));
      await until(
        async () =>
          (await metric(gateway, refusedSeries)) - refusedBefore === poisons(symbol).length,
        5000,
        'every poison record to be counted',
      );
      await committedToEnd(admin, ingress.groupId, topic);
      expect(await watch.stop()).toEqual(new Set(['200 ready']));
    } finally {
      await watch?.stop();
      await gateway.stop();
    }
  }, 120_000);

  it('a dead-letter copy the broker refuses is counted as lost; the partition moves on and later copies still land', async () => {
    const ingress = options('lost', `poison.lost.${RUN}.dead-letters`);
    const topic = ingress.topics[0]!;
    await ensureTopics(brokers, [topic], 1);
    // A dead-letter topic that takes no record over 1 KiB: the broker refuses the copy.
    await admin.createTopics({
      topics: [
        {
          topic: ingress.deadLetterTopic!,
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: '1024' }],
        },
      ],
      waitForLeaders: true,
    });
    const symbol = `PL${RUN}`;
    const gateway = await startGateway(ingress);
    let watch: ReadinessWatch | undefined;
    try {
      const recorder = await subscriber(gateway, symbol);
      watch = new ReadinessWatch(gateway);
      const messages: Message[] = [
        { key: symbol, value: trade(symbol, 0) },
        { key: symbol, value: `too large for the dead-letter topic ${'x'.repeat(4096)}` },
        { key: symbol, value: trade(symbol, 1) },
        { key: symbol, value: `small enough ${RUN}` },
        ...Array.from({ length: 50 }, (_, i) => ({ key: symbol, value: trade(symbol, i + 2) })),
      ];
      await producer.send({ topic, messages });
      await recorder.waitFor('trade', 52, 60_000);
      await sleep(500);
      expect(tradeIds(recorder)).toEqual(Array.from({ length: 52 }, (_, i) => i));

      const letters = await readRecords(brokers, ingress.deadLetterTopic!, 1);
      expect(letters.map((l) => l.value?.toString())).toEqual([`small enough ${RUN}`]);
      expect(letters[0]!.headers['x-realtime-error']).toBe('message is not valid JSON');
      expect(
        await metric(gateway, `realtime_kafka_dead_letters_lost_total{topic="${topic}"}`),
      ).toBe(1);
      await committedToEnd(admin, ingress.groupId, topic);
      expect(await watch.stop()).toEqual(new Set(['200 ready']));
    } finally {
      await watch?.stop();
      await gateway.stop();
    }
  }, 120_000);
});
