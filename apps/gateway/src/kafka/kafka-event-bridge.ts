import { Logger } from '@nestjs/common';
import type { KafkaContext } from '@nestjs/microservices';
import type { EventIngress, IngressViolation } from '#realtime';

/** Headers a dead-lettered message carries besides its own. */
export const DeadLetterHeader = {
  Code: 'x-realtime-error-code',
  Reason: 'x-realtime-error',
  Topic: 'x-realtime-source-topic',
  Partition: 'x-realtime-source-partition',
  Offset: 'x-realtime-source-offset',
} as const;

/**
 * Hands each Kafka message to the event ingress. A refused message is counted and, when a
 * dead-letter topic is set, copied there with the reason; either way consumption goes on.
 */
export class KafkaEventBridge {
  private readonly logger = new Logger('KafkaIngress');

  constructor(
    private readonly ingress: EventIngress,
    private readonly deadLetterTopic: string | undefined,
  ) {}

  readonly handle = async (value: Buffer | null, context: KafkaContext): Promise<void> => {
    const outcome = this.ingress.acceptJson('kafka', value === null ? '' : value.toString('utf8'));
    if (outcome.ok || !this.deadLetterTopic) return;
    // Failing here makes kafkajs retry this message, so a refused message is never lost
    // while the dead-letter topic is unreachable.
    await this.deadLetter(value, context, outcome.violation);
  };

  private async deadLetter(
    value: Buffer | null,
    context: KafkaContext,
    violation: IngressViolation,
  ): Promise<void> {
    const message = context.getMessage();
    try {
      await context.getProducer().send({
        topic: this.deadLetterTopic!,
        messages: [
          {
            key: message.key as Buffer | string | null,
            value,
            headers: {
              ...(message.headers as Record<string, string>),
              [DeadLetterHeader.Code]: violation.code,
              [DeadLetterHeader.Reason]: violation.message,
              [DeadLetterHeader.Topic]: context.getTopic(),
              [DeadLetterHeader.Partition]: String(context.getPartition()),
              [DeadLetterHeader.Offset]: message.offset,
            },
          },
        ],
      });
    } catch (error) {
      this.logger.warn(
        `Could not dead-letter a refused message: ${(error as Error).message}; kafkajs will retry it`,
      );
      throw error;
    }
  }
}
