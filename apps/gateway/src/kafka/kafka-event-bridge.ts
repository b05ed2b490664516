import type { KafkaContext } from '@nestjs/microservices';
import type { EventIngress, IngressViolation, RejectedEventLog } from '#realtime/internal';
import type { KafkaDeadLetters } from './kafka-dead-letters.js';
import { kafkaRecordText } from './kafka-record-text.js';

/**
 * Hands each Kafka record to the event ingress. A refused record (no key, no value, bytes
 * that are not UTF-8 text, or a value the ingress refuses) is counted and, when a
 * dead-letter topic is set, copied there with the reason; either way it is committed and
 * consumption goes on. Nothing a producer sends makes this throw.
 */
export class KafkaEventBridge {
  constructor(
    private readonly ingress: EventIngress,
    private readonly rejected: RejectedEventLog,
    private readonly deadLetters: KafkaDeadLetters | undefined,
  ) {}

  readonly handle = async (value: Buffer | null, context: KafkaContext): Promise<void> => {
    const message = context.getMessage();
    const text = kafkaRecordText(message.key, value);
    let violation: IngressViolation;
    if (typeof text === 'string') {
      const outcome = this.ingress.acceptJson('kafka', text);
      if (outcome.ok) return;
      violation = outcome.violation;
    } else {
      this.rejected.refuse('kafka', '(no event)', text);
      violation = text;
    }
    await this.deadLetters?.copy(
      {
        topic: context.getTopic(),
        partition: context.getPartition(),
        offset: message.offset,
        key: message.key,
        value,
        headers: message.headers,
        violation,
      },
      context.getProducer(),
      context.getHeartbeat(),
    );
  };
}
