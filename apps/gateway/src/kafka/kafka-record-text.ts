import { isUtf8 } from 'node:buffer';
import { RealtimeErrorCode, type IngressViolation } from '#realtime/internal';

/**
 * What a Kafka record must be before its value is read as an event: a value of UTF-8 text
 * and a key. The key picks the partition, and one partition is the only order Kafka keeps,
 * so a record without one would reach clients out of order with its symbol or user.
 * Returns the value's text, or why the record is refused.
 */
export function kafkaRecordText(
  key: Buffer | null,
  value: Buffer | null,
): string | IngressViolation {
  if (value === null)
    return refused('value', 'value is null (a tombstone or a headers-only message), not an event');
  if (value.length === 0) return refused('value', 'value is empty, not an event');
  // JSON text never starts with NUL; a schema registry's wire format always does.
  if (value[0] === 0) {
    return refused(
      'value',
      'value starts with a zero byte (a schema-registry encoding such as Avro), not JSON text',
    );
  }
  // Decoding would turn the bad bytes into U+FFFD and deliver an event the producer never sent.
  if (!isUtf8(value)) return refused('value', 'value is not UTF-8 text');
  if (key === null || key.length === 0)
    return refused('key', 'key is missing: use the symbol or the user id as the message key');
  return value.toString('utf8');
}

function refused(field: string, message: string): IngressViolation {
  return { code: RealtimeErrorCode.InvalidPayload, field, message };
}
