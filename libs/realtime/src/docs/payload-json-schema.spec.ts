import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { KLINES_KEY } from '../events/event-catalogue.js';
import { symbolKeyEvent } from '../events/custom-events.js';
import {
  FIELD_TYPES,
  MAX_FIELD_LENGTH,
  MAX_LEVELS_PER_SIDE,
  optional,
  required,
  requiredList,
  validatePayload,
  type FieldType,
  type PayloadSchema,
  type ValidationContext,
} from '../events/payload-schema.js';
import { SymbolRule } from '../market/symbol-rule.js';
import {
  eventPayloadJsonSchema,
  fieldJsonSchema,
  payloadJsonSchema,
} from './payload-json-schema.js';

const context: ValidationContext = {
  symbols: new SymbolRule(),
  payloadBounds: { maxDepth: 32, maxBytes: 1 << 20 },
};
const ajv = new Ajv({ allErrors: false });

/** A deterministic generator: the same values on every run, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomText(next: () => number, alphabet: string, maxLength: number): string {
  const length = Math.floor(next() * (maxLength + 1));
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
  return text;
}

/** Decimal-looking strings around every edge the validator has: signs, points, zeros, lengths. */
function decimalLike(next: () => number): string {
  const digits = () => {
    const zeros = randomText(next, '0', 6);
    const body = randomText(next, '0123456789', next() < 0.3 ? 45 : 18);
    return next() < 0.5 ? zeros + body : body + zeros;
  };
  const sign = next() < 0.15 ? '-' : '';
  const point = next() < 0.6 ? '.' + digits() : '';
  const noise = next() < 0.05 ? randomText(next, ' .e+x', 2) : '';
  return sign + digits() + point + noise;
}

const accepts = (schema: PayloadSchema, payload: unknown) =>
  validatePayload(schema, payload, context) === null;

function expectSameVerdicts(type: FieldType, values: readonly unknown[]): void {
  const schema = { value: required(type) };
  const check = ajv.compile(payloadJsonSchema(schema));
  const disagreements = values.filter((value) => check({ value }) !== accepts(schema, { value }));
  expect(disagreements).toEqual([]);
}

const ODD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  '',
  'x',
  '1',
  [],
  {},
  ['1', '2'],
];

describe('payloadJsonSchema: the validator, spelled as JSON Schema', () => {
  it('maps every field type of the schema language', () => {
    for (const type of FIELD_TYPES) expect(fieldJsonSchema(type)).toBeDefined();
  });

  it('decides decimals as the validator does', () => {
    const next = random(1);
    const values = [...ODD_VALUES, '-0', '0.', '.5', '1e5', ' 1', '1 ', '٣', '-1.25'];
    for (let i = 0; i < 5000; i++) values.push(decimalLike(next));
    expectSameVerdicts('decimal', values);
  });

  it('decides ids, integers, numbers, booleans, sides and intervals as the validator does', () => {
    const next = random(2);
    const texts = ['a', 'A-b_c.d@e', 'a b', 'a:b', 'x'.repeat(128), 'x'.repeat(129), 'é'];
    for (let i = 0; i < 2000; i++) texts.push(randomText(next, 'aZ09_.@- :/é', 140));
    const numbers = [0.5, -3, 2 ** 53, 2 ** 53 - 1, 1e300, Number.MIN_VALUE, 42];
    const values = [...ODD_VALUES, ...texts, ...numbers, 'buy', 'sell', 'BUY', '1m', '1M', '2m'];
    for (const type of ['id', 'integer', 'number', 'boolean', 'side', 'interval'] as const) {
      expectSameVerdicts(type, values);
    }
  });

  it('decides strings by their length as the validator does', () => {
    const values = [
      ...ODD_VALUES,
      'a'.repeat(MAX_FIELD_LENGTH),
      'a'.repeat(MAX_FIELD_LENGTH + 1),
      'é'.repeat(MAX_FIELD_LENGTH),
      'é'.repeat(MAX_FIELD_LENGTH + 1),
    ];
    expectSameVerdicts('string', values);
  });

  it('decides order-book levels, including significant digits of prices, as the validator does', () => {
    const next = random(3);
    const levels: unknown[] = [
      ...ODD_VALUES,
      [['1', '2', '3']],
      [['1']],
      [[1, '2']],
      [['-1', '2']],
      [['1', '-2']],
      [{ 0: '1', 1: '2' }],
      [['123456789012345', '1']],
      [['1234567890123456', '1']],
      [['1000000000000000', '1']],
      [['100000000000000', '1']],
      [['1000000000000000.0', '1']],
      [['0.000000000000000123456789012345', '1']],
      [['0.0000000000000001234567890123456', '1']],
      [['12345678.9012345', '1']],
      [['12345678.90123456', '1']],
      [['12345678.901234500000', '1']],
      [['0', '0']],
      [['0.000', '0.000']],
    ];
    for (let i = 0; i < 5000; i++) {
      const side = [];
      for (let n = Math.floor(next() * 3); n > 0; n--) {
        side.push([decimalLike(next), next() < 0.8 ? decimalLike(next) : 1]);
      }
      levels.push(side);
    }
    expectSameVerdicts('levels', levels);
  });

  it('bounds levels and lists as the validator does', () => {
    const level = ['1', '1'];
    expectSameVerdicts('levels', [
      Array(MAX_LEVELS_PER_SIDE).fill(level),
      Array(MAX_LEVELS_PER_SIDE + 1).fill(level),
    ]);
    const schema = { items: requiredList({ id: required('integer') }, 3) };
    const check = ajv.compile(payloadJsonSchema(schema));
    for (const items of [
      [],
      [{ id: 1 }],
      [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }],
      [{}],
      [1],
    ]) {
      expect([check({ items }), items]).toEqual([accepts(schema, { items }), items]);
    }
  });

  it('accepts every symbol the default symbol rule accepts', () => {
    const check = ajv.compile(payloadJsonSchema({ symbol: required('symbol') }));
    for (const symbol of ['BTCUSDT', 'BTC-PERP', 'ETH/USD', 'A']) {
      expect(accepts({ symbol: required('symbol') }, { symbol })).toBe(true);
      expect(check({ symbol })).toBe(true);
    }
    expect(check({ symbol: 1 })).toBe(false);
  });

  it('requires the required fields, and lets unnamed fields pass through', () => {
    const schema = { symbol: required('symbol'), price: optional('decimal') };
    const check = ajv.compile(payloadJsonSchema(schema));
    expect(check({ symbol: 'BTCUSDT', extra: { anything: [1, 'two'] }, more: null })).toBe(true);
    expect(check({ price: '1' })).toBe(false);
    expect(check({ symbol: 'BTCUSDT', price: 1 })).toBe(false);
    expect(check([])).toBe(false);
    expect(payloadJsonSchema(schema).additionalProperties).toBe(true);
  });

  it("limits a keyed event's key to its channel's values, as every ingress does", () => {
    const chainPrice = symbolKeyEvent('price.update', {
      channel: 'prices',
      key: 'chain',
      values: ['1', '137'],
    });
    const check = ajv.compile(eventPayloadJsonSchema(chainPrice));
    expect(check({ symbol: 'BTCUSDT', chain: '137' })).toBe(true);
    expect(check({ symbol: 'BTCUSDT', chain: '2' })).toBe(false);
    expect(check({ symbol: 'BTCUSDT' })).toBe(false);
    const klines = ajv.compile(
      eventPayloadJsonSchema({
        event: 'kline.update',
        channel: 'klines',
        routing: 'symbolKey',
        key: KLINES_KEY,
        schema: { symbol: required('symbol'), interval: required('interval') },
      }),
    );
    expect(klines({ symbol: 'BTCUSDT', interval: '1M' })).toBe(true);
    expect(klines({ symbol: 'BTCUSDT', interval: '2m' })).toBe(false);
  });
});
