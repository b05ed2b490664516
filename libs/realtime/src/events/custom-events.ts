import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import {
  required,
  type FieldRule,
  type InferPayload,
  type PayloadSchema,
} from './payload-schema.js';

/**
 * A host's or an operator's own event, beside the built-in ones. Made with the helpers
 * below, one per routing kind; the helper adds the routing fields to the schema, so the
 * payload type TypeScript infers always carries them.
 */
export interface CustomEventDefinition<
  E extends string = string,
  S extends PayloadSchema = PayloadSchema,
> {
  readonly event: E;
  readonly channel: string;
  readonly routing: CustomRouting;
  /** For `symbolKey` routing: the payload field that is the room's second part. */
  readonly key?: RoutingKey;
  readonly schema: S;
  /** Each one supersedes the last: skipped first for slow consumers. */
  readonly conflatable?: boolean;
  /** Public events: a new subscriber gets the room's last event first (`replay: true`). */
  readonly replayLast?: boolean;
  /** One line for the generated docs. */
  readonly description?: string;
}

/**
 * - `symbol`: public, `{channel}:{data.symbol}`
 * - `symbolKey`: public, `{channel}:{data.symbol}:{data[key]}`
 * - `user`: private, `user:{data.userId}:{channel without "user."}`
 * - `everyone`: every connection, no subscription.
 */
export type CustomRouting = 'symbol' | 'symbolKey' | 'user' | 'everyone';

export interface RoutingKey {
  /** The payload (and subscribe) field, e.g. `interval` or `chain`. */
  readonly field: string;
  /** The values it may take; unset: any id (1-128 of A-Z a-z 0-9 _ . @ -). */
  readonly values?: readonly string[];
  /** The code a subscribe or event with a wrong value is refused with. */
  readonly invalidCode?: RealtimeErrorCode;
}

interface CommonOptions<S extends PayloadSchema> {
  /** Payload fields beyond the routing ones; unnamed fields pass through as sent. */
  schema?: S;
  description?: string;
}

interface MarketOptions<S extends PayloadSchema> extends CommonOptions<S> {
  /** The public channel clients `subscribe` to, e.g. `funding`. */
  channel: string;
  conflatable?: boolean;
  replayLast?: boolean;
}

/** A schema naming no fields beyond the routing ones. */
type NoFields = Readonly<Record<never, FieldRule>>;

type WithField<S extends PayloadSchema, F extends string, R> = Omit<S, F> & {
  readonly [K in F]: R;
};

/** A public event per symbol, e.g. `funding.rate` on channel `funding`. */
export function symbolEvent<const E extends string, const S extends PayloadSchema = NoFields>(
  event: E,
  options: MarketOptions<S>,
): CustomEventDefinition<E, WithField<S, 'symbol', FieldRule<'symbol', true>>> {
  return {
    event,
    channel: options.channel,
    routing: 'symbol',
    schema: { ...options.schema, symbol: required('symbol') } as never,
    conflatable: options.conflatable,
    replayLast: options.replayLast,
    description: options.description,
  };
}

/** A public event per symbol and key, e.g. `price.update` per symbol and `chain`. */
export function symbolKeyEvent<
  const E extends string,
  const F extends string,
  const S extends PayloadSchema = NoFields,
>(
  event: E,
  options: MarketOptions<S> & { key: F; values?: readonly string[] },
): CustomEventDefinition<
  E,
  WithField<WithField<S, 'symbol', FieldRule<'symbol', true>>, F, FieldRule<'id', true>>
> {
  const perSymbol = symbolEvent(event, {
    ...options,
    schema: { ...options.schema, [options.key]: required('id') },
  });
  return {
    ...perSymbol,
    routing: 'symbolKey',
    key: { field: options.key, values: options.values },
  } as never;
}

/** A private event per user, e.g. `portfolio.update` on channel `user.portfolio`. */
export function userEvent<const E extends string, const S extends PayloadSchema = NoFields>(
  event: E,
  options: CommonOptions<S> & { channel: `user.${string}` },
): CustomEventDefinition<E, WithField<S, 'userId', FieldRule<'id', true>>> {
  return {
    event,
    channel: options.channel,
    routing: 'user',
    schema: { ...options.schema, userId: required('id') } as never,
    description: options.description,
  };
}

/** An event for every connection, e.g. `news`. */
export function broadcastEvent<const E extends string, const S extends PayloadSchema = NoFields>(
  event: E,
  options: CommonOptions<S> = {},
): CustomEventDefinition<E, S> {
  return {
    event,
    channel: 'system',
    routing: 'everyone',
    schema: (options.schema ?? {}) as S,
    description: options.description,
  };
}

/** The payload types of a list of custom events, by event name. */
export type CustomEventPayloads<D extends readonly CustomEventDefinition[]> = {
  [K in D[number] as K['event']]: InferPayload<K['schema']>;
};
