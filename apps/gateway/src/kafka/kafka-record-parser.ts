import { KafkaParser } from '@nestjs/microservices';

/**
 * Leaves a record's key, value and headers as the bytes kafkajs read. Nest's parser decodes
 * keys and headers to text and parses the ones that look like JSON into objects: a binary
 * key came out changed, and a dead-letter copy of such a record could not even be sent.
 */
export class KafkaRecordParser extends KafkaParser {
  constructor() {
    super({ keepBinary: true });
  }

  override parse<T = unknown>(data: { headers?: unknown }): T {
    // A copy, as Nest's own: kafkajs retries with the original object.
    return { ...data, headers: { ...(data.headers ?? {}) } } as T;
  }
}
