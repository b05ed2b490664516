import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import { CountedLog } from '../metrics/counted-log.js';
import { KafkaPendingReplies } from './kafka-pending-replies.js';
import { KafkaReplyConsumer, type ReplyTopicOffsets } from './kafka-reply-consumer.js';
import { headerCorrelationId, readReply, requestRecord } from './kafka-request-record.js';
import {
  BackendUnavailable,
  type BackendAnswer,
  type RelayedRequest,
  type RequestTransport,
} from './request-transport.js';

export interface KafkaRequestsOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: string[];
  /** The Kafka client id; also the start of the reply consumer's group id. */
  readonly clientId: string;
  /** Where backends produce replies; created (broker defaults, 1 h retention) when missing. */
  readonly replyTopic: string;
  /** This gateway instance; sent with each request so that the backend can key its reply. */
  readonly instanceId: string;
  /** Requests waiting for a reply at most, on this instance (10,000); past it: UNAVAILABLE. */
  readonly maxPending?: number;
}

/** Where the Kafka side stands, as readiness reports it. */
export type KafkaRequestsState = 'connecting' | 'ready' | 'reconnecting' | 'stopped';

const DEFAULT_MAX_PENDING = 10_000;
const CONNECT_RETRY_MIN_MS = 500;
const CONNECT_RETRY_MAX_MS = 10_000;
/** Replies are worthless after their request's deadline: an hour is plenty. */
const REPLY_RETENTION_MS = String(60 * 60 * 1000);
/** Reading a new reply topic's ends: tries, and the pause between them. */
const TOPIC_ENDS_ATTEMPTS = 20;
const TOPIC_ENDS_RETRY_MS = 250;
/** Kafka's own rule for topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Requests to backends over Kafka, for one gateway instance: one producer for every method's
 * topic, and one consumer of the reply topic in a group of this instance's own, which keeps
 * the replies it waits for (by correlation id) and drops the others unread.
 *
 * `start` never fails for an unreachable broker: it resolves once the reply consumer is
 * positioned (so the first reply is not missed) or, when Kafka cannot be reached, at once;
 * requests are then answered UNAVAILABLE until it can, and it keeps trying. Once up, kafkajs
 * reconnects by itself; a send while the broker is down fails after a short retry or at its
 * signal, never later.
 */
export class KafkaRequests {
  private readonly logger = new Logger('KafkaRequests');
  private readonly problems = new CountedLog(this.logger);
  private readonly kafka: Kafka;
  private readonly pending: KafkaPendingReplies;
  private readonly replies: KafkaReplyConsumer;
  private readonly transports = new Map<string, RequestTransport>();
  private producer: Producer | undefined;
  private state: KafkaRequestsState = 'connecting';
  private problem: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closing = false;

  private constructor(private readonly options: KafkaRequestsOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      // State changes are logged here, once each; kafkajs would log every retry.
      logLevel: logLevel.NOTHING,
      // Short: a send gives up within a second or two when the broker is gone.
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
      connectionTimeout: 3_000,
    });
    this.pending = new KafkaPendingReplies(options.maxPending ?? DEFAULT_MAX_PENDING);
    this.replies = new KafkaReplyConsumer(
      this.kafka,
      {
        topic: options.replyTopic,
        // A fresh suffix per start: a restarted process must not wait for its dead member.
        groupId: `${options.clientId}-replies-${options.instanceId}-${randomUUID().slice(0, 8)}`,
      },
      {
        reply: (message) => this.receive(message),
        ready: () => this.setState('ready'),
        down: (problem) => {
          this.problem = problem;
          this.setState('reconnecting');
        },
      },
    );
  }

  /** Connects, and resolves when requests can be answered or Kafka is found unreachable. */
  static async start(options: KafkaRequestsOptions): Promise<KafkaRequests> {
    checkOptions(options);
    const requests = new KafkaRequests(options);
    await requests.connect(CONNECT_RETRY_MIN_MS);
    return requests;
  }

  /**
   * The transport of the methods whose backend reads `topic` (one per topic, all sharing this
   * producer and reply consumer). The topic is the backend's: it is not created here, and a
   * missing one makes its requests UNAVAILABLE.
   */
  transport(topic: string): RequestTransport {
    if (!TOPIC_NAME.test(topic))
      throw new Error(`Kafka request topic ${JSON.stringify(topic)} is not a valid topic name`);
    let transport = this.transports.get(topic);
    if (!transport) {
      transport = { send: (request, signal) => this.send(topic, request, signal) };
      this.transports.set(topic, transport);
    }
    return transport;
  }

  /** For the gateway's readiness check. */
  readiness(): { ready: boolean; state: KafkaRequestsState; problem?: string } {
    const ready = this.state === 'ready';
    return {
      ready,
      state: this.state,
      ...(ready || this.problem === undefined ? {} : { problem: this.problem }),
    };
  }

  /** Requests waiting for their reply now. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Stops consuming and producing; requests still waiting fail with BackendUnavailable. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.setState('stopped');
    this.pending.failAll(new BackendUnavailable('the gateway is shutting down'));
    await this.replies.close();
    await this.connecting;
    await this.producer?.disconnect().catch(() => undefined);
  }

  private async send(
    topic: string,
    request: RelayedRequest,
    signal: AbortSignal,
  ): Promise<BackendAnswer> {
    if (this.closing) throw new BackendUnavailable('the gateway is shutting down');
    const producer = this.producer;
    if (producer === undefined)
      throw new BackendUnavailable(`Kafka is not reachable yet: ${this.problem ?? 'connecting'}`);
    const correlationId = randomUUID();
    const reply = this.pending.wait(correlationId, signal);
    const record = requestRecord(request, correlationId, this.options.replyTopic);
    producer
      .send({
        topic,
        messages: [record],
        timeout: Math.max(1, request.deadline - Date.now()),
      })
      .then(
        () => reply.sent(),
        (error: Error) => {
          this.problems.record(`produce ${topic} ${error.name}`, () => {
            return `Could not produce a request to ${topic}: ${error.message}`;
          });
          this.pending.fail(
            correlationId,
            new BackendUnavailable(`Kafka did not take the request: ${error.message}`),
          );
        },
      );
    return reply.promise;
  }

  /** Every record of the reply topic: most are other instances' and are skipped unread. */
  private receive(message: KafkaMessage): void {
    try {
      const header = headerCorrelationId(message.headers);
      if (header !== undefined && !this.pending.has(header)) return;
      const read = readReply(message.value);
      const correlationId = header ?? read.correlationId;
      if ('malformed' in read) {
        // Another instance's (its id in the value): that instance logs it, not every one.
        if (correlationId !== undefined && !this.pending.has(correlationId)) return;
        this.problems.record(`reply ${read.malformed}`, () => {
          return `Malformed Kafka reply: ${read.malformed}`;
        });
        // Without an id, nobody can say whose it was; with one, its request learns now.
        if (correlationId !== undefined)
          this.pending.fail(
            correlationId,
            new BackendUnavailable(`the backend's reply was malformed: ${read.malformed}`),
          );
        return;
      }
      if (correlationId === undefined) {
        this.problems.record('reply without correlation id', () => {
          return 'Kafka reply without a correlation-id header or a correlationId field, ignored';
        });
        return;
      }
      this.pending.settle(correlationId, read.answer);
    } catch (error) {
      // Never thrown back to kafkajs: it would replay the batch and restart the consumer.
      this.problems.record('reply handling', () => `Kafka reply not handled: ${String(error)}`);
    }
  }

  /** One attempt at being ready, then retries in the background; never rejects. */
  private connect(delayMs: number): Promise<void> {
    const attempt = this.attempt().catch((error: unknown) => {
      if (this.closing) return;
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.problem)
        this.logger.warn(
          `Kafka not reachable for requests: ${message}; they are answered UNAVAILABLE until it is, retrying`,
        );
      this.problem = message;
      this.retryTimer = setTimeout(
        () => void this.connect(Math.min(delayMs * 2, CONNECT_RETRY_MAX_MS)),
        delayMs,
      );
    });
    this.connecting = attempt;
    return attempt;
  }

  private async attempt(): Promise<void> {
    const from = await this.replyTopicEnd();
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      // The Java client's partitioner: a backend in any language sees one user on one partition.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    try {
      await producer.connect();
      if (this.closing) throw new Error('closed');
      await this.replies.start(from);
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    if (this.closing) {
      await producer.disconnect().catch(() => undefined);
      return;
    }
    this.producer = producer;
    this.logger.log(
      `Requests over Kafka ready: replies on ${this.options.replyTopic} for instance ${this.options.instanceId}`,
    );
    this.setState('ready');
  }

  /** Creates the reply topic when missing and reads where each partition ends now. */
  private async replyTopicEnd(): Promise<ReplyTopicOffsets> {
    const topic = this.options.replyTopic;
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) {
        // False when another instance created it meanwhile: its leaders may not be known yet.
        const created = await admin.createTopics({
          topics: [{ topic, configEntries: [{ name: 'retention.ms', value: REPLY_RETENTION_MS }] }],
          waitForLeaders: true,
        });
        if (created) this.logger.log(`Created the reply topic ${topic}`);
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const offsets = await fetchTopicEnds(() => this.kafka.admin(), topic);
    return new Map(offsets.map(({ partition, high }) => [partition, high]));
  }

  private setState(state: KafkaRequestsState): void {
    if (state === this.state || this.state === 'stopped') return;
    const was = this.state;
    this.state = state;
    if (state === 'ready' && was === 'reconnecting') this.logger.log('Kafka reply consumer ready');
    else if (state === 'reconnecting')
      this.logger.warn(`Kafka reply consumer reconnecting: ${this.problem ?? 'unknown'}`);
  }
}

/**
 * The topic's partition ends. kafkajs's admin gives up at once when the broker it believes a
 * partition's leader is not yet (a topic just created, by this instance or by another one
 * starting at the same moment), and keeps that metadata: retriable errors are retried here,
 * each time with a fresh admin (fresh metadata), for a few seconds before the attempt fails.
 */
async function fetchTopicEnds(
  newAdmin: () => Admin,
  topic: string,
): Promise<Array<{ partition: number; high: string }>> {
  for (let attempt = 1; ; attempt++) {
    const admin = newAdmin();
    try {
      await admin.connect();
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      // The broker's answer (not a lost connection: that fails the attempt as it is).
      const { name, retriable } = error as { name?: unknown; retriable?: unknown };
      if (name !== 'KafkaJSProtocolError' || retriable !== true) throw error;
      if (attempt >= TOPIC_ENDS_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, TOPIC_ENDS_RETRY_MS));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

function checkOptions(options: KafkaRequestsOptions): void {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0)
    throw new Error('Kafka requests need at least one broker');
  if (!TOPIC_NAME.test(options.replyTopic))
    throw new Error(
      `Kafka reply topic ${JSON.stringify(options.replyTopic)} is not a valid topic name`,
    );
  if (!options.clientId) throw new Error('Kafka requests need a client id');
  if (!options.instanceId) throw new Error('Kafka requests need an instance id');
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  if (!Number.isInteger(maxPending) || maxPending < 1)
    throw new Error(`maxPending must be a positive integer, not ${String(options.maxPending)}`);
}
