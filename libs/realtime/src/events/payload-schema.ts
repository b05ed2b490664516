import { RealtimeErrorCode, describeValue } from '../errors/index.js';
import type { SymbolRule } from '../market/symbol-rule.js';
import { isKlineInterval, type KlineInterval } from './channels.js';
import type { PayloadBounds } from './payload-bounds.js';

/*
 * A deliberately small schema language for event payloads. It checks what routing and
 * clients rely on; fields it does not name pass through untouched, so upstream teams can
 * add fields without redeploying the gateway. It walks the schema, not the payload, and
 * allocates nothing unless the payload is invalid.
 */

/** The field types of the schema language, as a catalogue file names them. */
export const FIELD_TYPES = [
  'symbol',
  'interval',
  'id',
  'decimal',
  'string',
  'integer',
  'number',
  'boolean',
  'side',
  'levels',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldRule<T extends FieldType = FieldType, R extends boolean = boolean> {
  readonly type: T;
  readonly required: R;
}

export interface ListRule<S extends PayloadSchema = PayloadSchema> {
  readonly type: 'list';
  readonly required: true;
  readonly items: S;
  readonly maxItems: number;
}

export type PayloadSchema = { readonly [field: string]: FieldRule | ListRule };

export const required = <T extends FieldType>(type: T): FieldRule<T, true> => ({
  type,
  required: true,
});
export const optional = <T extends FieldType>(type: T): FieldRule<T, false> => ({
  type,
  required: false,
});
export const requiredList = <S extends PayloadSchema>(items: S, maxItems: number): ListRule<S> => ({
  type: 'list',
  required: true,
  items,
  maxItems,
});

/** The TypeScript type of each field type. */
export interface FieldTypeMap {
  symbol: string;
  interval: KlineInterval;
  id: string | number;
  decimal: string;
  string: string;
  integer: number;
  number: number;
  boolean: boolean;
  side: 'buy' | 'sell';
  levels: Array<[price: string, quantity: string]>;
}

type RuleType<R> =
  R extends ListRule<infer S>
    ? Array<InferPayload<S>>
    : R extends FieldRule<infer T>
      ? FieldTypeMap[T]
      : never;

type RequiredKeys<S extends PayloadSchema> = {
  [K in keyof S]: S[K]['required'] extends true ? K : never;
}[keyof S];

/** The payload type a schema accepts: its named fields, plus anything else passed through. */
export type InferPayload<S extends PayloadSchema> = {
  -readonly [K in RequiredKeys<S>]: RuleType<S[K]>;
} & {
  -readonly [K in Exclude<keyof S, RequiredKeys<S>>]?: RuleType<S[K]>;
} & { [extra: string]: unknown };

export interface PayloadViolation {
  readonly code: RealtimeErrorCode;
  /** Path of the offending field, e.g. `data.bids[3]`. */
  readonly field: string;
  /** The field and what is wrong with it, safe to show (long values are cut). */
  readonly message: string;
}

export interface ValidationContext {
  readonly symbols: SymbolRule;
  readonly payloadBounds: PayloadBounds;
}

/** Longest string the gateway accepts in a named string field. */
export const MAX_FIELD_LENGTH = 1024;
/** Most order-book levels one snapshot or update may carry per side. */
export const MAX_LEVELS_PER_SIDE = 5000;

/** A decimal string, as the `decimal` field type takes it. */
export const DECIMAL_REGEX = /^-?\d{1,40}(\.\d{1,40})?$/;
/** An id string, as the `id` field type takes it (and a keyed channel's key without a list). */
export const ID_REGEX = /^[A-Za-z0-9_.@-]{1,128}$/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why `payload` breaks `schema`, or null. */
export function validatePayload(
  schema: PayloadSchema,
  payload: unknown,
  context: ValidationContext,
): PayloadViolation | null {
  const problem = objectProblem(schema, payload, context);
  if (!problem) return null;
  const field = problem.at === '' ? 'data' : 'data' + problem.at;
  return { code: problem.code, field, message: `${field} ${problem.message}` };
}

/** A problem at a path relative to the object being checked (`''` is the object itself). */
interface Problem {
  code: RealtimeErrorCode;
  at: string;
  message: string;
}

function objectProblem(
  schema: PayloadSchema,
  value: unknown,
  context: ValidationContext,
): Problem | null {
  if (!isPlainObject(value)) return mismatch('an object', value);
  for (const field in schema) {
    const rule = schema[field]!;
    const fieldValue = value[field];
    let problem: Problem | null;
    if (fieldValue === undefined) {
      problem = rule.required ? problemOf(codeFor(rule.type), 'is required') : null;
    } else {
      problem =
        rule.type === 'list'
          ? listProblem(rule, fieldValue, context)
          : fieldProblem(rule.type, fieldValue, context);
    }
    if (problem) {
      problem.at = '.' + field + problem.at;
      return problem;
    }
  }
  return null;
}

function listProblem(rule: ListRule, value: unknown, context: ValidationContext): Problem | null {
  if (!Array.isArray(value)) return mismatch('an array', value);
  if (value.length > rule.maxItems) {
    return problemOf(RealtimeErrorCode.InvalidPayload, `has more than ${rule.maxItems} items`);
  }
  for (let i = 0; i < value.length; i++) {
    const problem = objectProblem(rule.items, value[i], context);
    if (problem) {
      problem.at = `[${i}]` + problem.at;
      return problem;
    }
  }
  return null;
}

function fieldProblem(type: FieldType, value: unknown, context: ValidationContext): Problem | null {
  switch (type) {
    case 'symbol': {
      const problem = context.symbols.problem(value);
      return problem
        ? problemOf(RealtimeErrorCode.InvalidSymbol, `${problem}, got ${describeValue(value)}`)
        : null;
    }
    case 'interval':
      return isKlineInterval(value)
        ? null
        : problemOf(
            RealtimeErrorCode.InvalidInterval,
            `must be a kline interval, got ${describeValue(value)}`,
          );
    case 'id':
      return (typeof value === 'string' && ID_REGEX.test(value)) ||
        (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)
        ? null
        : mismatch('an id (1-128 of A-Z a-z 0-9 _ . @ -, or a non-negative integer)', value);
    case 'decimal':
      return typeof value === 'string' && DECIMAL_REGEX.test(value)
        ? null
        : mismatch('a decimal string', value);
    case 'string':
      return typeof value === 'string' && value.length <= MAX_FIELD_LENGTH
        ? null
        : mismatch(`a string of at most ${MAX_FIELD_LENGTH} characters`, value);
    case 'integer':
      return Number.isSafeInteger(value) && (value as number) >= 0
        ? null
        : mismatch('a non-negative integer', value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? null
        : mismatch('a finite number', value);
    case 'boolean':
      return typeof value === 'boolean' ? null : mismatch('a boolean', value);
    case 'side':
      return value === 'buy' || value === 'sell' ? null : mismatch('"buy" or "sell"', value);
    case 'levels':
      return levelsProblem(value);
  }
}

/** A non-negative decimal string: an order-book price or quantity. */
export const UNSIGNED_DECIMAL_REGEX = /^\d{1,40}(\.\d{1,40})?$/;
/** Doubles hold 15 significant decimal digits exactly: prices within that order exactly. */
export const MAX_PRICE_DIGITS = 15;

function significantDigits(decimal: string): number {
  let start = 0;
  while (start < decimal.length && (decimal[start] === '0' || decimal[start] === '.')) start++;
  let end = decimal.length;
  if (decimal.includes('.'))
    while (end > start && (decimal[end - 1] === '0' || decimal[end - 1] === '.')) end--;
  let digits = 0;
  for (let i = start; i < end; i++) if (decimal[i] !== '.') digits++;
  return digits;
}

function levelsProblem(value: unknown): Problem | null {
  if (!Array.isArray(value)) return mismatch('an array of [price, quantity] levels', value);
  if (value.length > MAX_LEVELS_PER_SIDE) {
    return problemOf(
      RealtimeErrorCode.InvalidPayload,
      `has more than ${MAX_LEVELS_PER_SIDE} levels`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const level: unknown = value[i];
    let problem: Problem | null = null;
    if (
      !Array.isArray(level) ||
      level.length !== 2 ||
      typeof level[0] !== 'string' ||
      typeof level[1] !== 'string' ||
      !UNSIGNED_DECIMAL_REGEX.test(level[0]) ||
      !UNSIGNED_DECIMAL_REGEX.test(level[1])
    ) {
      // What came, not only its kind: a venue's four-element level reads as such.
      problem = problemOf(
        RealtimeErrorCode.InvalidPayload,
        `must be a [price, quantity] pair of non-negative decimal strings, got ${
          Array.isArray(level)
            ? `${level.length} elements [${level.slice(0, 4).map(describeValue).join(', ')}${level.length > 4 ? ', ...' : ''}]`
            : describeValue(level)
        }`,
      );
    } else if (significantDigits(level[0]) > MAX_PRICE_DIGITS) {
      problem = problemOf(
        RealtimeErrorCode.InvalidPayload,
        `price ${describeValue(level[0])} has more than ${MAX_PRICE_DIGITS} significant digits`,
      );
    }
    if (problem) {
      problem.at = `[${i}]`;
      return problem;
    }
  }
  return null;
}

function codeFor(type: FieldType | 'list'): RealtimeErrorCode {
  if (type === 'symbol') return RealtimeErrorCode.InvalidSymbol;
  if (type === 'interval') return RealtimeErrorCode.InvalidInterval;
  return RealtimeErrorCode.InvalidPayload;
}

function mismatch(expected: string, value: unknown): Problem {
  return problemOf(
    RealtimeErrorCode.InvalidPayload,
    `must be ${expected}, got ${describeValue(value)}`,
  );
}

function problemOf(code: RealtimeErrorCode, message: string): Problem {
  return { code, at: '', message };
}
