import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { startBroker, stopBroker } from '../../scripts/kafka/kafka-broker.mjs';
import { sleep } from './gateway-harness.js';

/**
 * A real Kafka broker for the tests: the one named by KAFKA_BROKERS, or a local single-node
 * broker started here (scripts/kafka) on a test port. Never skipped: without Java the start
 * fails with one line saying what to install.
 */
export class TestKafka {
  private readonly started: number[] = [];

  /** Bootstrap address of the shared test broker. */
  async shared(port = Number(process.env.KAFKA_TEST_PORT ?? 29092)): Promise<string> {
    if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS;
    return this.start(port);
  }

  async start(port: number): Promise<string> {
    const broker = await startBroker({ port, log: () => undefined });
    if (!broker.alreadyRunning) this.started.push(port);
    return broker.bootstrap;
  }

  async stop(port: number): Promise<void> {
    await stopBroker({ port, log: () => undefined });
  }

  /** Stops the brokers this run started; one that was already running stays. */
  async stopStarted(): Promise<void> {
    for (const port of this.started.splice(0)) await this.stop(port);
  }
}

export function kafkaClient(brokers: string): Kafka {
  return new Kafka({
    clientId: 'gateway-tests',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
}

export async function connectedProducer(brokers: string): Promise<Producer> {
  const producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: true });
  await producer.connect();
  return producer;
}

/** Creates topics if missing, so consumers see their partitions from the start. */
export async function ensureTopics(
  brokers: string,
  topics: string[],
  partitions = 3,
): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions: partitions })),
        waitForLeaders: true,
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Reads every message of a topic from the beginning until `done` says it has enough. */
export async function readTopic(
  brokers: string,
  topic: string,
  done: (
    messages: Array<{ key: string | null; value: string; headers: Record<string, string> }>,
  ) => boolean,
  timeoutMs = 20_000,
): Promise<Array<{ key: string | null; value: string; headers: Record<string, string> }>> {
  const consumer: Consumer = kafkaClient(brokers).consumer({
    groupId: `reader-${Date.now()}-${Math.random()}`,
  });
  const messages: Array<{ key: string | null; value: string; headers: Record<string, string> }> =
    [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {}))
        headers[name] = String(value);
      messages.push({
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
        headers,
      });
    },
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (!done(messages)) {
      if (Date.now() > deadline)
        throw new Error(`read ${messages.length} messages from ${topic}, not enough`);
      await sleep(100);
    }
    return messages;
  } finally {
    await consumer.disconnect();
  }
}
