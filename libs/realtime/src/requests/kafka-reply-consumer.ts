import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';

/** Where one reply topic's partitions start for this instance: partition -> offset. */
export type ReplyTopicOffsets = ReadonlyMap<number, string>;

/** What the consumer tells its owner: ready (fetching from its positions) or not, and why. */
export interface ReplyConsumerEvents {
  /** Every record, in partition order; must not throw (a throw would replay the batch). */
  reply(message: KafkaMessage): void;
  ready(): void;
  down(problem: string): void;
}

export interface KafkaReplyConsumerOptions {
  /** The reply topic. */
  readonly topic: string;
  /** This instance's own group: every instance reads every reply and keeps its own. */
  readonly groupId: string;
}

/** How long joining the group and positioning every partition may take before a retry. */
const READY_TIMEOUT_MS = 30_000;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 10_000;
/**
 * The broker holds an empty fetch this long. Readiness is seen at the first fetch's answer, so
 * this is what start-up waits for at most; a reply still comes as soon as it is written.
 */
const FETCH_WAIT_MS = 200;
/** Special offset for `seek`: the partition's first record. */
const EARLIEST = '-2';

/**
 * The reply topic's consumer of one gateway instance. Its group is its own and commits nothing:
 * positions are kept here, in memory, so that a restart of the consumer inside the process
 * (after a crash, a broker restart for one; always this class's, with a new consumer)
 * resumes where it stopped and loses no reply, while a new process starts at the topic's end
 * (the replies before it are for requests nobody waits for) and leaves no offsets behind: the
 * broker drops a group with no offsets once it is empty.
 */
export class KafkaReplyConsumer {
  private consumer: Consumer | undefined;
  /** Next offset to read per partition, from the records read; survives consumer restarts. */
  private readonly positions = new Map<number, string>();
  private from: ReplyTopicOffsets = new Map();
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = RESTART_MIN_MS;
  private cancelStart: (() => void) | undefined;
  /** Consumers made so far: each one joins a group of its own (see `run`). */
  private runs = 0;
  private closing = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaReplyConsumerOptions,
    private readonly events: ReplyConsumerEvents,
  ) {}

  /**
   * Joins the group and resolves once every assigned partition is positioned (at `from`, the
   * topic's end read before, for a partition never read) and fetching: a reply produced after
   * that is read. Rejects if the consumer crashes or does not get there in time.
   */
  async start(from: ReplyTopicOffsets): Promise<void> {
    this.from = from;
    await this.run();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    this.cancelStart?.();
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect().catch(() => undefined);
  }

  private async run(): Promise<void> {
    if (this.closing) throw new Error('the reply consumer is closed');
    // A crashed consumer could not leave its group (the broker was gone): a new member of the
    // same group would wait for that dead one's session to expire (30 s) before getting any
    // partition. A group of its own joins at once; nothing is lost, positions are kept here.
    this.runs += 1;
    const groupId = this.runs === 1 ? this.options.groupId : `${this.options.groupId}-${this.runs}`;
    const consumer = this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: FETCH_WAIT_MS,
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 5_000,
        retries: 5,
        // Every restart is this class's (a new consumer, in a new group), never kafkajs's.
        restartOnFailure: async () => false,
      },
    });
    this.consumer = consumer;
    const ready = this.watch(consumer);
    this.cancelStart = ready.cancel;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.options.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const { messages } = batch;
          if (messages.length === 0) return;
          for (const message of messages) this.events.reply(message);
          this.positions.set(
            batch.partition,
            (BigInt(messages[messages.length - 1].offset) + 1n).toString(),
          );
        },
      });
      await ready.promise;
    } catch (error) {
      ready.cancel();
      if (this.consumer === consumer) this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw error;
    } finally {
      this.cancelStart = undefined;
    }
  }

  /**
   * Follows one kafkajs consumer: positions each partition on every join (kafkajs forgets
   * uncommitted positions when it rejoins), reports ready at the first fetch after a join,
   * and down on a crash. `promise` settles with the first readiness or the first crash.
   */
  private watch(consumer: Consumer): { promise: Promise<void>; cancel(): void } {
    const { topic } = this.options;
    let settled = false;
    let joined = false;
    let settle!: (error?: Error) => void;
    const promise = new Promise<void>((resolve, reject) => {
      settle = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
    });
    // Settled by a cancel nobody awaits any more: handled here, still rejected for `run`.
    promise.catch(() => undefined);
    const timer = setTimeout(
      () =>
        settle(
          new Error(`the reply consumer did not join its group within ${READY_TIMEOUT_MS} ms`),
        ),
      READY_TIMEOUT_MS,
    );
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      joined = true;
      for (const partition of payload.memberAssignment[topic] ?? []) {
        // A partition absent at start was added since: all of it is new.
        const offset = this.positions.get(partition) ?? this.from.get(partition) ?? EARLIEST;
        consumer.seek({ topic, partition, offset });
      }
    });
    consumer.on(consumer.events.FETCH, () => {
      if (!joined) return;
      joined = false;
      this.restartDelayMs = RESTART_MIN_MS;
      if (settled) this.events.ready();
      else settle();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      const problem = payload.error.message;
      if (!settled) {
        settle(new Error(`the reply consumer crashed: ${problem}`));
        return;
      }
      if (consumer !== this.consumer) return;
      this.events.down(problem);
      this.scheduleRestart();
    });
    return { promise, cancel: () => settle(new Error('the reply consumer was stopped')) };
  }

  private scheduleRestart(): void {
    if (this.closing || this.restartTimer !== undefined) return;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(delay * 2, RESTART_MAX_MS);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  /** Replaces a consumer kafkajs gave up on; never rejects (it is called from a timer). */
  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    const crashed = this.consumer;
    this.consumer = undefined;
    await crashed?.disconnect().catch(() => undefined);
    if (this.closing) return;
    try {
      await this.run();
      this.events.ready();
    } catch (error) {
      if (this.closing) return;
      this.events.down(error instanceof Error ? error.message : String(error));
      this.scheduleRestart();
    }
  }
}
