import { Logger } from '@nestjs/common';
import type { IHeaders, Producer } from '@nestjs/microservices/external/kafka.interface.js';
import type { IngressViolation } from '#realtime/internal';

/** Headers a dead-lettered message carries besides its own. */
export const DeadLetterHeader = {
  Code: 'x-realtime-error-code',
  Reason: 'x-realtime-error',
  Topic: 'x-realtime-source-topic',
  Partition: 'x-realtime-source-partition',
  Offset: 'x-realtime-source-offset',
} as const;

/** A refused record, as read, with where it came from and why it was refused. */
export interface RefusedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders | undefined;
  readonly violation: IngressViolation;
}

/** Sends of one copy while the dead-letter topic works; kafkajs retries inside each. */
export const DEAD_LETTER_ATTEMPTS = 3;
const FIRST_PAUSE_MS = 500;

/**
 * Copies refused records to `KAFKA_DLQ_TOPIC`, and never holds a partition for good. A copy
 * is tried a few times with a growing pause (its partition waits meanwhile, so the records
 * behind it keep their order); one that still fails is counted as lost, logged, and its
 * record committed all the same. Until a copy goes through again each is tried once: an
 * unreachable dead-letter topic slows refused records down, never the valid ones behind.
 * A lost copy's record is still at its offset in its source topic.
 */
export class KafkaDeadLetters {
  private readonly logger = new Logger('KafkaIngress');
  private outage: { lost: number; first: string } | undefined;

  constructor(
    readonly topic: string,
    private readonly countLost: (sourceTopic: string) => void,
    private readonly pause: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /**
   * Resolves once the copy was sent or counted as lost. Only `heartbeat` may throw (a
   * rebalance): kafkajs then rejoins, and the uncommitted record is read again.
   */
  async copy(
    record: RefusedRecord,
    producer: Pick<Producer, 'send'>,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const attempts = this.outage ? 1 : DEAD_LETTER_ATTEMPTS;
    let failure: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        await this.pause(FIRST_PAUSE_MS * 2 ** (attempt - 1));
        // The wait is longer than kafkajs expects between records: stay in the group.
        await heartbeat();
      }
      try {
        await producer.send({ topic: this.topic, messages: [letter(record)] });
        this.sent();
        return;
      } catch (error) {
        failure = error;
      }
    }
    this.lost(record, attempts, failure);
  }

  private sent(): void {
    if (!this.outage) return;
    this.logger.log(
      `Dead-letter topic ${this.topic} takes copies again; ${this.outage.lost} refused messages were not copied, the first at ${this.outage.first}`,
    );
    this.outage = undefined;
  }

  private lost(record: RefusedRecord, attempts: number, failure: unknown): void {
    this.countLost(record.topic);
    if (this.outage) {
      this.outage.lost++;
      return;
    }
    const at = `${record.topic}[${record.partition}]@${record.offset}`;
    this.outage = { lost: 1, first: at };
    const reason = failure instanceof Error ? failure.message : String(failure);
    // Once per outage: a failing topic must not turn every refused record into a log line.
    this.logger.error(
      `Could not copy the refused message at ${at} (${record.violation.code}) to ${this.topic} after ${attempts} attempts: ${reason}. It was skipped; it stays at that offset in its source topic. Until a copy succeeds each is tried once, and each lost one counts in realtime_kafka_dead_letters_lost_total`,
    );
  }
}

function letter(record: RefusedRecord) {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DeadLetterHeader.Code]: record.violation.code,
      [DeadLetterHeader.Reason]: record.violation.message,
      [DeadLetterHeader.Topic]: record.topic,
      [DeadLetterHeader.Partition]: String(record.partition),
      [DeadLetterHeader.Offset]: record.offset,
    },
  };
}
