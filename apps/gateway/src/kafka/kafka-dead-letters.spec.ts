import { describe, expect, it } from '@jest/globals';
import {
  DEAD_LETTER_ATTEMPTS,
  KafkaDeadLetters,
  type RefusedRecord,
} from './kafka-dead-letters.js';

const record = (offset: string): RefusedRecord => ({
  topic: 'exchange.market-data',
  partition: 2,
  offset,
  key: Buffer.from('BTCUSDT'),
  value: null,
  headers: { trace: Buffer.from('abc') },
  violation: { code: 'INVALID_PAYLOAD', field: 'value', message: 'value is null' },
});

/** A producer whose sends fail while `failing` says so; it keeps what it was sent. */
class FlakyProducer {
  sends = 0;
  readonly sent: Array<{ topic: string; messages: unknown[] }> = [];

  constructor(private readonly failing: (send: number) => boolean) {}

  async send(batch: { topic: string; messages: unknown[] }): Promise<never[]> {
    const send = ++this.sends;
    if (this.failing(send)) throw new Error(`broker said no to send ${send}`);
    this.sent.push(batch);
    return [];
  }
}

function deadLetters() {
  const lost: string[] = [];
  const pauses: number[] = [];
  const letters = new KafkaDeadLetters(
    'dead-letters',
    (topic) => lost.push(topic),
    async (ms) => void pauses.push(ms),
  );
  return { letters, lost, pauses };
}

describe('KafkaDeadLetters', () => {
  it('copies the record with its key, value and headers plus the reason headers', async () => {
    const { letters, lost } = deadLetters();
    const producer = new FlakyProducer(() => false);
    await letters.copy(record('41'), producer, async () => undefined);
    expect(lost).toEqual([]);
    expect(producer.sent).toEqual([
      {
        topic: 'dead-letters',
        messages: [
          {
            key: Buffer.from('BTCUSDT'),
            value: null,
            headers: {
              trace: Buffer.from('abc'),
              'x-realtime-error-code': 'INVALID_PAYLOAD',
              'x-realtime-error': 'value is null',
              'x-realtime-source-topic': 'exchange.market-data',
              'x-realtime-source-partition': '2',
              'x-realtime-source-offset': '41',
            },
          },
        ],
      },
    ]);
  });

  it('retries a failed send after a growing pause, staying in the group, and then succeeds', async () => {
    const { letters, lost, pauses } = deadLetters();
    const producer = new FlakyProducer((send) => send < DEAD_LETTER_ATTEMPTS);
    let heartbeats = 0;
    await letters.copy(record('7'), producer, async () => void heartbeats++);
    expect(producer.sent).toHaveLength(1);
    expect(lost).toEqual([]);
    expect(pauses).toEqual([500, 1000]);
    expect(heartbeats).toBe(DEAD_LETTER_ATTEMPTS - 1);
  });

  it('gives up after a bounded number of attempts, counts the copy as lost and resolves', async () => {
    const { letters, lost } = deadLetters();
    const producer = new FlakyProducer(() => true);
    await expect(letters.copy(record('7'), producer, async () => undefined)).resolves.toBe(
      undefined,
    );
    expect(producer.sends).toBe(DEAD_LETTER_ATTEMPTS);
    expect(lost).toEqual(['exchange.market-data']);
  });

  it('tries each copy once while the topic fails, and retries again once a copy went through', async () => {
    const { letters, lost } = deadLetters();
    let down = true;
    const producer = new FlakyProducer(() => down);
    await letters.copy(record('1'), producer, async () => undefined);
    await letters.copy(record('2'), producer, async () => undefined);
    await letters.copy(record('3'), producer, async () => undefined);
    expect(producer.sends).toBe(DEAD_LETTER_ATTEMPTS + 2);
    expect(lost).toHaveLength(3);

    down = false;
    await letters.copy(record('4'), producer, async () => undefined);
    down = true;
    const before = producer.sends;
    await letters.copy(record('5'), producer, async () => undefined);
    expect(producer.sends - before).toBe(DEAD_LETTER_ATTEMPTS);
    expect(lost).toHaveLength(4);
  });

  it('lets a rebalance seen by the heartbeat go to kafkajs, which reads the record again', async () => {
    const { letters, lost } = deadLetters();
    const producer = new FlakyProducer(() => true);
    const rebalancing = async () => {
      throw new Error('The group is rebalancing, so a rejoin is needed');
    };
    await expect(letters.copy(record('9'), producer, rebalancing)).rejects.toThrow('rebalancing');
    expect(producer.sends).toBe(1);
    expect(lost).toEqual([]);
  });
});
