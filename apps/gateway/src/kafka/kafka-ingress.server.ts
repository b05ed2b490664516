import { Logger } from '@nestjs/common';
import { ServerKafka, type KafkaContext } from '@nestjs/microservices';
import type { Consumer } from '@nestjs/microservices/external/kafka.interface.js';
import type { ReadinessCheck, ReadinessStatus } from '#realtime';
import type { KafkaIngressOptions } from './kafka-ingress-options.js';
import { KafkaRecordParser } from './kafka-record-parser.js';

/** Where the consumer stands; `ready` once it has joined its group and fetched. */
export type KafkaIngressState = 'connecting' | 'ready' | 'reconnecting' | 'stopped';

/**
 * What the gateway does with each record's value (null for a tombstone); the context holds
 * its key and headers as read. It must not throw for bad input: kafkajs would retry the
 * record, and restart the consumer, for as long as it kept throwing.
 */
export type KafkaRecordHandler = (value: Buffer | null, context: KafkaContext) => Promise<void>;

/** Told how far each partition is behind its end after every batch. */
export type KafkaLagReporter = (topic: string, partition: string, behind: number) => void;

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

/**
 * Nest's Kafka transport, made resilient for a gateway: start-up never waits for the broker
 * (WebSockets are served meanwhile and readiness says so), the consumer keeps trying until
 * the broker comes back, and every configured topic goes to one handler whatever its name.
 * kafkajs stays behind this class; the rest of the gateway sees values and a context.
 */
export class KafkaIngressServer extends ServerKafka implements ReadinessCheck {
  readonly name = 'kafka';
  private ingressState: KafkaIngressState = 'connecting';
  private lastError: string | undefined;
  private closing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly ingressLogger = new Logger('KafkaIngress');

  constructor(
    private readonly ingress: KafkaIngressOptions,
    handler: KafkaRecordHandler,
    private readonly reportLag: KafkaLagReporter = () => undefined,
  ) {
    super({
      postfixId: '',
      client: {
        clientId: ingress.clientId,
        brokers: ingress.brokers,
        // State changes are logged here, once each; kafkajs would log every retry.
        logLevel: 0,
        retry: { initialRetryTime: 300, retries: 5 },
      },
      consumer: { groupId: ingress.groupId, allowAutoTopicCreation: true },
      subscribe: { fromBeginning: false },
      run: { autoCommitInterval: 1000, partitionsConsumedConcurrently: 1 },
    });
    this.parser = new KafkaRecordParser();
    for (const topic of ingress.topics)
      this.addHandler(
        topic,
        // The value comes from the record: for a null one Nest hands over the whole record.
        (_data: unknown, context: KafkaContext) => handler(context.getMessage().value, context),
        true,
      );
  }

  /**
   * A topic name is the route as it is. Nest first tries it as a JSON pattern, and a topic
   * name throws: twice per message, 4% of the gateway's time at 5,000 messages a second.
   */
  override getRouteFromPattern(pattern: string): string {
    return pattern;
  }

  get state(): KafkaIngressState {
    return this.ingressState;
  }

  readiness(): ReadinessStatus {
    const ready = this.ingressState === 'ready';
    return {
      ready,
      state: this.ingressState,
      ...(ready || !this.lastError ? {} : { problem: this.lastError }),
    };
  }

  override async listen(callback: (error?: unknown) => void): Promise<void> {
    callback();
    this.ingressLogger.log(
      `Consuming ${this.ingress.topics.join(', ')} from ${this.ingress.brokers.join(', ')} as group ${this.ingress.groupId}`,
    );
    await this.connect(RETRY_MIN_MS);
  }

  override async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.setState('stopped');
    await super.close().catch(() => undefined);
  }

  override registerConsumerEventListeners(): void {
    super.registerConsumerEventListeners();
    const consumer = this.consumer as Consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // Offsets are pinned by the first fetch after a join: only then is nothing produced missed.
      let fetched = false;
      const ready = consumer.on(consumer.events.FETCH, () => {
        if (fetched) return;
        fetched = true;
        ready();
        this.setState('ready');
      });
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, offsetLag } = event.payload as {
        topic: string;
        partition: number;
        offsetLag: string;
      };
      this.reportLag(topic, String(partition), Number(offsetLag));
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload as { error: Error; restart: boolean };
      this.lastError = error.message;
      this.setState('reconnecting');
      // kafkajs restarts by itself after retriable errors; after others this class does.
      if (!restart && !this.closing) void this.reconnect(RETRY_MIN_MS);
    });
    consumer.on(consumer.events.DISCONNECT, () => {
      if (!this.closing) this.setState('reconnecting');
    });
  }

  private async connect(delayMs: number): Promise<void> {
    if (this.closing) return;
    try {
      this.client = await this.createClient();
      await this.start(() => undefined);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError)
        this.ingressLogger.warn(`Kafka not reachable yet: ${message}; retrying`);
      this.lastError = message;
      this.setState(this.ingressState === 'ready' ? 'reconnecting' : this.ingressState);
      await this.reconnect(Math.min(delayMs * 2, RETRY_MAX_MS), delayMs);
    }
  }

  private async reconnect(nextDelayMs: number, waitMs = nextDelayMs): Promise<void> {
    await super.close().catch(() => undefined);
    if (this.closing) return;
    this.retryTimer = setTimeout(() => void this.connect(nextDelayMs), waitMs);
  }

  private setState(state: KafkaIngressState): void {
    if (state === this.ingressState) return;
    this.ingressState = state;
    if (state === 'ready') this.ingressLogger.log('Kafka consumer ready');
    else if (state !== 'stopped') {
      this.ingressLogger.warn(
        `Kafka consumer ${state}${this.lastError ? `: ${this.lastError}` : ''}`,
      );
    }
  }
}
