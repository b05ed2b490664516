import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { startBroker, stopBroker } from '../../scripts/kafka/kafka-broker.mjs';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep } from './gateway-harness.js';

/** Where a test run marks the shared broker it started, for the global teardown. */
export const SHARED_BROKER_MARK = path.join('.cache', 'kafka', 'run', 'started-by-tests');
const START_LOCK = path.join('.cache', 'kafka', 'run', 'tests-start.lock');

/**
 * A real Kafka broker for the tests: the one named by KAFKA_BROKERS, or a local single-node
 * broker started here (scripts/kafka) on a test port. Never skipped: without Java the start
 * fails with one line saying what to install.
 *
 * Test files run in parallel workers and share one broker: it is started under a lock (two
 * workers must not launch two JVMs on one port) and stopped once, by the global teardown,
 * never by the file that happened to start it while others still use it.
 */
export class TestKafka {
  private readonly started: number[] = [];

  /** Bootstrap address of the shared test broker. */
  async shared(port = Number(process.env.KAFKA_TEST_PORT ?? 29092)): Promise<string> {
    if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS;
    const broker = await withStartLock(() => startBroker({ port, log: () => undefined }));
    if (!broker.alreadyRunning) writeFileSync(SHARED_BROKER_MARK, `${port}\n`);
    return broker.bootstrap;
  }

  /** A broker of the calling test's own, on a port no other test uses. */
  async start(port: number): Promise<string> {
    const broker = await startBroker({ port, log: () => undefined });
    if (!broker.alreadyRunning) this.started.push(port);
    return broker.bootstrap;
  }

  async stop(port: number): Promise<void> {
    await stopBroker({ port, log: () => undefined });
  }

  /** Stops the brokers of the calling test's own this run started; the shared one stays. */
  async stopStarted(): Promise<void> {
    for (const port of this.started.splice(0)) await this.stop(port);
  }
}

/** Runs `start` while holding a lock file shared by every Jest worker of this machine. */
async function withStartLock<T>(start: () => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(START_LOCK), { recursive: true });
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      closeSync(openSync(START_LOCK, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than any start is a leftover of a killed run.
      const held = statSync(START_LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 240_000) rmSync(START_LOCK, { force: true });
      if (Date.now() > deadline)
        throw new Error(`${START_LOCK} held for 4 minutes`, { cause: error });
      await sleep(200);
    }
  }
  try {
    return await start();
  } finally {
    rmSync(START_LOCK, { force: true });
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
        // On by default; waited for below instead.
        waitForLeaders: false,
      });
    }
    await leadersOf(admin, topics);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits (bounded) until every partition of `topics` has a leader. kafkajs's own wait
 * (`waitForLeaders`) retries only LEADER_NOT_AVAILABLE; a broker just (re)started in KRaft
 * mode can first answer that it does not host the new topic-partition yet, which kafkajs
 * throws: that answer is a "not yet" here too.
 */
async function leadersOf(admin: ReturnType<Kafka['admin']>, topics: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const { topics: described } = await admin.fetchTopicMetadata({ topics });
      const led = described.every(
        ({ partitions }) =>
          partitions.length > 0 &&
          partitions.every(({ leader }) => leader !== undefined && leader >= 0),
      );
      if (led) return;
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw error;
    }
    if (Date.now() > deadline) throw new Error(`no leaders for ${topics.join(', ')} within 30 s`);
    await sleep(200);
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
