import type { Type } from '@nestjs/common';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import { describeValue } from '../errors/describe-value.js';
import { FIELD_TYPES, type PayloadSchema } from '../events/payload-schema.js';
import type { RealtimeRequestHandler } from './realtime-request-handler.js';
import type { RequestMethodDefinition } from './request-method.js';

/**
 * Client requests relayed to the backend (the `request` command): the methods clients may
 * call and what their backends need.
 */
export interface RealtimeRequestsOptions {
  /** The methods clients may call, made with `requestMethod`. A mistake stops start-up with one line. */
  methods: readonly RequestMethodDefinition[];
  /**
   * Sent as the `X-Realtime-Secret` header of every HTTP call so the backend knows the call
   * is the gateway's. Required when an `http` method is declared, at least 16 characters.
   */
  httpSecret?: string;
  /** Kafka for `kafka` methods; required when one is declared. kafkajs is loaded only then. */
  kafka?: {
    /** Bootstrap brokers, `host:port`. */
    brokers: readonly string[];
    /** The topic backends answer on; every instance reads it and keeps the replies to its own requests. */
    replyTopic: string;
    /** The Kafka client id. Default `realtime-requests`. */
    clientId?: string;
  };
  /**
   * How long the first answer to a request is remembered: the same `requestId` of the same
   * user and method within it gets that answer again (no second backend call), also while the
   * first is still in flight, and cluster-wide with Redis. 0 turns it off. Default 60000.
   */
  idempotencyWindowMs?: number;
}

/** How a method reaches its backend, checked. */
export type ResolvedBackend =
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'kafka'; readonly topic: string }
  | { readonly kind: 'provider'; readonly provider: Type<RealtimeRequestHandler> };

/** A declared method with its defaults applied. */
export interface ResolvedMethod {
  readonly method: string;
  readonly params: PayloadSchema;
  readonly userRequired: boolean;
  readonly perSecond: number;
  readonly burst: number;
  readonly timeoutMs: number;
  readonly backend: ResolvedBackend;
  readonly description: string | undefined;
}

/** The request options with defaults applied and checked once, at start-up. */
export interface ResolvedRequests {
  /** By name, in declaration order. */
  readonly methods: ReadonlyMap<string, ResolvedMethod>;
  readonly httpSecret: string | undefined;
  readonly kafka:
    | {
        readonly brokers: readonly string[];
        readonly replyTopic: string;
        readonly clientId: string;
      }
    | undefined;
  readonly idempotencyWindowMs: number;
}

/** Lowercase words joined by dots, e.g. `order.place`. */
export const METHOD_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
export const MAX_METHOD_LENGTH = 64;
export const MIN_HTTP_SECRET_LENGTH = 16;
export const DEFAULT_TIMEOUT_MS = 5000;
export const MAX_TIMEOUT_MS = 60_000;
export const DEFAULT_RATE = { perSecond: 5, burst: 10 } as const;
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 60_000;
const MAX_RATE = 100_000;
const MAX_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const KAFKA_BROKER = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

export const NO_REQUESTS: ResolvedRequests = {
  methods: new Map(),
  httpSecret: undefined,
  kafka: undefined,
  idempotencyWindowMs: DEFAULT_IDEMPOTENCY_WINDOW_MS,
};

/** Checks the options; the option named in an error is e.g. `requests.methods[2].timeoutMs`. */
export function resolveRequests(options: RealtimeRequestsOptions | undefined): ResolvedRequests {
  if (options === undefined) return NO_REQUESTS;
  if (!Array.isArray(options.methods))
    throw new RealtimeOptionsError('requests.methods', 'must be a list of requestMethod(...)');
  const methods = new Map<string, ResolvedMethod>();
  options.methods.forEach((definition, index) => {
    const resolved = resolveMethod(definition, `requests.methods[${index}]`);
    if (methods.has(resolved.method))
      throw new RealtimeOptionsError(
        `requests.methods[${index}].method`,
        `"${resolved.method}" is declared twice`,
      );
    methods.set(resolved.method, resolved);
  });
  const all = [...methods.values()];
  const httpSecret = options.httpSecret;
  if (all.some((m) => m.backend.kind === 'http')) {
    if (typeof httpSecret !== 'string' || httpSecret.length < MIN_HTTP_SECRET_LENGTH)
      throw new RealtimeOptionsError(
        'requests.httpSecret',
        `must be set when an http method is declared, at least ${MIN_HTTP_SECRET_LENGTH} characters`,
      );
  }
  let kafka: ResolvedRequests['kafka'];
  if (all.some((m) => m.backend.kind === 'kafka')) {
    const given = options.kafka;
    if (given === undefined)
      throw new RealtimeOptionsError(
        'requests.kafka',
        'must be set ({ brokers, replyTopic }) when a kafka method is declared',
      );
    if (!Array.isArray(given.brokers) || given.brokers.length === 0)
      throw new RealtimeOptionsError('requests.kafka.brokers', 'must list at least one host:port');
    for (const broker of given.brokers)
      if (typeof broker !== 'string' || !KAFKA_BROKER.test(broker))
        throw new RealtimeOptionsError(
          'requests.kafka.brokers',
          `entries must be host:port, got ${describeValue(broker)}`,
        );
    if (typeof given.replyTopic !== 'string' || !KAFKA_TOPIC.test(given.replyTopic))
      throw new RealtimeOptionsError(
        'requests.kafka.replyTopic',
        `must be a Kafka topic name (A-Z a-z 0-9 . _ -), got ${describeValue(given.replyTopic)}`,
      );
    const requestTopic = all.find(
      (m) => m.backend.kind === 'kafka' && m.backend.topic === given.replyTopic,
    );
    if (requestTopic)
      throw new RealtimeOptionsError(
        'requests.kafka.replyTopic',
        `must not be a request topic (method ${requestTopic.method} sends to it)`,
      );
    kafka = {
      brokers: [...given.brokers],
      replyTopic: given.replyTopic,
      clientId: given.clientId ?? 'realtime-requests',
    };
  }
  const window = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
  if (!Number.isInteger(window) || window < 0 || window > MAX_IDEMPOTENCY_WINDOW_MS)
    throw new RealtimeOptionsError(
      'requests.idempotencyWindowMs',
      `must be an integer from 0 to ${MAX_IDEMPOTENCY_WINDOW_MS}, got ${describeValue(window)}`,
    );
  return { methods, httpSecret, kafka, idempotencyWindowMs: window };
}

function resolveMethod(definition: RequestMethodDefinition, at: string): ResolvedMethod {
  const fail = (field: string, problem: string): never => {
    throw new RealtimeOptionsError(`${at}${field ? '.' + field : ''}`, problem);
  };
  if (typeof definition !== 'object' || definition === null)
    return fail('', `must be a requestMethod(...), got ${describeValue(definition)}`);
  const { method } = definition;
  if (typeof method !== 'string' || method.length > MAX_METHOD_LENGTH || !METHOD_NAME.test(method))
    fail(
      'method',
      `must be lowercase words joined by dots (e.g. order.place), at most ${MAX_METHOD_LENGTH} characters, got ${describeValue(method)}`,
    );
  const params = definition.params ?? {};
  checkSchema(params, `params`, fail);
  if ('userId' in params)
    fail(
      'params.userId',
      'cannot be declared: the backend gets the verified user as the request userId, never a client-sent one',
    );
  const user = definition.user ?? 'required';
  if (user !== 'required' && user !== 'optional')
    fail('user', `must be "required" or "optional", got ${describeValue(user)}`);
  const rate = definition.rate;
  let perSecond: number = DEFAULT_RATE.perSecond;
  let burst: number = DEFAULT_RATE.burst;
  if (rate !== undefined) {
    perSecond = rate.perSecond;
    if (typeof perSecond !== 'number' || !(perSecond > 0) || perSecond > MAX_RATE)
      fail(
        'rate.perSecond',
        `must be a number above 0, at most ${MAX_RATE}, got ${describeValue(perSecond)}`,
      );
    burst = rate.burst ?? Math.max(1, Math.ceil(2 * perSecond));
    if (!Number.isInteger(burst) || burst < 1 || burst > MAX_RATE)
      fail('rate.burst', `must be an integer from 1 to ${MAX_RATE}, got ${describeValue(burst)}`);
  }
  const timeoutMs = definition.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
    fail(
      'timeoutMs',
      `must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${describeValue(timeoutMs)}`,
    );
  return {
    method,
    params,
    userRequired: user === 'required',
    perSecond,
    burst,
    timeoutMs,
    backend: resolveBackend(definition.backend, fail),
    description: definition.description,
  };
}

function resolveBackend(
  backend: RequestMethodDefinition['backend'] | undefined,
  fail: (field: string, problem: string) => never,
): ResolvedBackend {
  const given = backend as Record<string, unknown> | undefined;
  const kinds =
    typeof given === 'object' && given !== null
      ? Object.keys(given).filter((kind) => given[kind] !== undefined)
      : [];
  if (kinds.length !== 1)
    return fail(
      'backend',
      'must be exactly one of { http: { url } }, { kafka: { topic } }, { provider }',
    );
  if ('http' in backend! && backend.http !== undefined) {
    const url = (backend.http as { url?: unknown } | null)?.url;
    if (
      typeof url !== 'string' ||
      !URL.canParse(url) ||
      !['http:', 'https:'].includes(new URL(url).protocol)
    )
      fail('backend.http.url', `must be an http(s) URL, got ${describeValue(url)}`);
    return { kind: 'http', url: url as string };
  }
  if ('kafka' in backend! && backend.kafka !== undefined) {
    const topic = (backend.kafka as { topic?: unknown } | null)?.topic;
    if (typeof topic !== 'string' || !KAFKA_TOPIC.test(topic))
      fail(
        'backend.kafka.topic',
        `must be a Kafka topic name (A-Z a-z 0-9 . _ -), got ${describeValue(topic)}`,
      );
    return { kind: 'kafka', topic: topic as string };
  }
  const provider = (backend as { provider?: unknown }).provider;
  if (typeof provider !== 'function')
    fail('backend.provider', `must be a provider class, got ${describeValue(provider)}`);
  return { kind: 'provider', provider: provider as Type<RealtimeRequestHandler> };
}

/** The schema's rules are the catalogue's: a type of FIELD_TYPES, or a list of such. */
function checkSchema(
  schema: unknown,
  at: string,
  fail: (field: string, problem: string) => never,
): void {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    fail(
      at,
      `must be a schema of required(...) / optional(...) fields, got ${describeValue(schema)}`,
    );
  for (const [field, rule] of Object.entries(schema as Record<string, unknown>)) {
    const { type, items, maxItems } = (rule ?? {}) as {
      type?: unknown;
      items?: unknown;
      maxItems?: unknown;
    };
    if (type === 'list') {
      if (!Number.isInteger(maxItems) || (maxItems as number) < 1)
        fail(`${at}.${field}`, 'is a list without a positive maxItems (use requiredList)');
      checkSchema(items, `${at}.${field}.items`, fail);
    } else if (!(FIELD_TYPES as readonly unknown[]).includes(type)) {
      fail(
        `${at}.${field}`,
        `must be required(type) or optional(type) with a type of ${FIELD_TYPES.join(', ')}, got ${describeValue(rule)}`,
      );
    }
  }
}
