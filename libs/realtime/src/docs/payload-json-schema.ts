import { KLINE_INTERVALS } from '../events/channels.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import {
  DECIMAL_REGEX,
  ID_REGEX,
  MAX_FIELD_LENGTH,
  MAX_LEVELS_PER_SIDE,
  MAX_PRICE_DIGITS,
  UNSIGNED_DECIMAL_REGEX,
  type FieldType,
  type ListRule,
  type PayloadSchema,
} from '../events/payload-schema.js';

/** A JSON Schema (draft-07, the dialect AsyncAPI schemas extend), as a plain object. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/*
 * The schema language's checks, spelled as JSON Schema from the validator's own patterns;
 * payload-json-schema.spec.ts runs both checks on the same values, so the two agree.
 */
const DECIMAL = DECIMAL_REGEX.source;
/** An id as a string: also what a keyed channel's key may be when it lists no values. */
export const ID_PATTERN = ID_REGEX.source;
const UNSIGNED_DECIMAL = UNSIGNED_DECIMAL_REGEX.source;
const PRICE_DIGITS = MAX_PRICE_DIGITS;

/**
 * At most PRICE_DIGITS significant digits, counted as the validator counts them: from the
 * first non-zero digit to the last one, or to the end when there is no decimal point
 * (`100` has three, `100.0` one). The significant part ends in a non-zero digit either way
 * when a point is present, so the digits around the point are spelled out per split.
 */
function significantDigitsPattern(): string {
  const inner = PRICE_DIGITS - 2;
  const withoutPoint = `[1-9](?:\\d{0,${inner}}[1-9])?`;
  const withPoint = Array.from(
    { length: inner + 1 },
    (_, before) => `[1-9]\\d{${before}}\\.\\d{0,${inner - before}}[1-9]`,
  );
  const zeros = '0*(?:\\.0*)?';
  const pointed = `(?=\\d*\\.)${zeros}(?:${[withoutPoint, ...withPoint].join('|')})?${zeros}`;
  return `^(?:0*(?:[1-9]\\d{0,${PRICE_DIGITS - 1}})?|${pointed})$`;
}

const PRICE: JsonSchema = {
  type: 'string',
  pattern: UNSIGNED_DECIMAL,
  allOf: [{ pattern: significantDigitsPattern() }],
};

const FIELD_SCHEMAS: { readonly [T in FieldType]: JsonSchema } = {
  symbol: {
    type: 'string',
    description: "A symbol in canonical form (the gateway's symbol rule decides which exist)",
  },
  interval: { type: 'string', enum: [...KLINE_INTERVALS] },
  id: {
    anyOf: [
      { type: 'string', pattern: ID_PATTERN },
      { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    ],
  },
  decimal: { type: 'string', pattern: DECIMAL },
  // maxLength counts code points, the validator UTF-16 units: equal for text without astral characters.
  string: { type: 'string', maxLength: MAX_FIELD_LENGTH },
  integer: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  number: { type: 'number' },
  boolean: { type: 'boolean' },
  side: { type: 'string', enum: ['buy', 'sell'] },
  levels: {
    type: 'array',
    description: '[price, quantity] pairs of non-negative decimal strings, best first',
    maxItems: MAX_LEVELS_PER_SIDE,
    items: {
      type: 'array',
      minItems: 2,
      maxItems: 2,
      items: [PRICE, { type: 'string', pattern: UNSIGNED_DECIMAL }],
    },
  },
};

/** The JSON Schema of one field type, exactly as the validator checks it. */
export function fieldJsonSchema(type: FieldType): JsonSchema {
  return FIELD_SCHEMAS[type];
}

/**
 * The JSON Schema of a payload schema: the named fields as the validator checks them, every
 * other field allowed (unnamed fields pass through to clients as sent). A symbol is checked
 * by the gateway's symbol rule, which the JSON Schema leaves to the gateway; the payload
 * bounds (depth, size) and cross-field checks are the gateway's too.
 */
export function payloadJsonSchema(schema: PayloadSchema): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const field of Object.keys(schema)) {
    const rule = schema[field]!;
    properties[field] = rule.type === 'list' ? listJsonSchema(rule) : fieldJsonSchema(rule.type);
    if (rule.required) required.push(field);
  }
  return {
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: true,
  };
}

/**
 * What an ingress accepts as an event's `data`: its payload schema, and a keyed event's key
 * limited to the values its channel lists.
 */
export function eventPayloadJsonSchema(event: CatalogueEvent): JsonSchema {
  const schema = payloadJsonSchema(event.schema);
  const values = event.key?.values;
  if (!values) return schema;
  const field = event.key!.field;
  const properties = schema.properties as Record<string, JsonSchema>;
  return {
    ...schema,
    properties: { ...properties, [field]: { type: 'string', enum: [...values] } },
    required: [...new Set([...((schema.required as string[] | undefined) ?? []), field])],
  };
}

function listJsonSchema(rule: ListRule): JsonSchema {
  return { type: 'array', maxItems: rule.maxItems, items: payloadJsonSchema(rule.items) };
}
