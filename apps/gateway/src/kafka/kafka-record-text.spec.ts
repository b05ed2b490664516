import { describe, expect, it } from '@jest/globals';
import { kafkaRecordText } from './kafka-record-text.js';

const key = Buffer.from('BTCUSDT');
const refusal = (result: ReturnType<typeof kafkaRecordText>) =>
  typeof result === 'string' ? result : `${result.code} ${result.field}: ${result.message}`;

describe('kafkaRecordText', () => {
  it('returns the text of a keyed UTF-8 value, multi-byte characters intact', () => {
    const text = '{"event":"system.alert","data":{"message":"prix 65 000 € ✓"}}';
    expect(kafkaRecordText(key, Buffer.from(text))).toBe(text);
  });

  it.each([
    ['a tombstone', key, null, 'INVALID_PAYLOAD value: value is null'],
    ['an empty value', key, Buffer.alloc(0), 'INVALID_PAYLOAD value: value is empty'],
    [
      'a schema-registry frame',
      key,
      Buffer.from([0, 0, 0, 0, 1, 2]),
      'INVALID_PAYLOAD value: value starts with a zero byte',
    ],
    [
      'bytes that are not UTF-8',
      key,
      Buffer.concat([
        Buffer.from('{"event":"trade","x":"'),
        Buffer.from([0xff]),
        Buffer.from('"}'),
      ]),
      'INVALID_PAYLOAD value: value is not UTF-8 text',
    ],
    ['a null key', null, Buffer.from('{}'), 'INVALID_PAYLOAD key: key is missing'],
    ['an empty key', Buffer.alloc(0), Buffer.from('{}'), 'INVALID_PAYLOAD key: key is missing'],
  ])('refuses %s with a reason', (_kind, recordKey, value, reason) => {
    expect(refusal(kafkaRecordText(recordKey, value))).toMatch(new RegExp(`^${reason}`));
  });

  it('names the value first when both key and value are missing', () => {
    expect(refusal(kafkaRecordText(null, null))).toMatch(/^INVALID_PAYLOAD value: value is null/);
  });
});
