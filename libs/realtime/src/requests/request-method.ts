import type { Type } from '@nestjs/common';
import type { PayloadSchema } from '../events/payload-schema.js';
import type { RealtimeRequestHandler } from './realtime-request-handler.js';

/**
 * A method clients may call with the `request` command, and the backend that answers it.
 * Declared in the module's `requests.methods` (code) or a catalogue file's `methods:`
 * section (operator); checked once at start-up.
 */
export interface RequestMethodDefinition<
  M extends string = string,
  S extends PayloadSchema = PayloadSchema,
> {
  /**
   * The name clients call: lowercase words joined by dots, e.g. `order.place`
   * (`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`, at most 64 characters); checked at start-up.
   */
  readonly method: M;
  /**
   * The params' schema, in the catalogue's schema language (`required`, `optional`,
   * `requiredList` from payload-schema.ts). Unset: the method takes no params (an empty
   * object or none). Fields the schema does not name pass through as sent.
   */
  readonly params?: S;
  /**
   * `'required'` (default): an anonymous caller is refused `AUTH_REQUIRED`.
   * `'optional'`: anonymous callers are relayed with `userId: null`.
   */
  readonly user?: 'required' | 'optional';
  /**
   * Calls allowed per user (per connection when anonymous) and method, counted on each
   * instance; past it the client gets `RATE_LIMITED`. Default 5 per second, burst 10.
   */
  readonly rate?: {
    /** Sustained calls per second. */
    readonly perSecond: number;
    /** Calls allowed at once before the rate applies; default twice `perSecond`. */
    readonly burst?: number;
  };
  /**
   * How long the gateway waits for the backend before answering `TIMEOUT` (a late answer is
   * ignored). Default 5000, 1 to 60000.
   */
  readonly timeoutMs?: number;
  /**
   * Who answers:
   * - `{ http: { url } }`: a `POST` of the request to the URL, with `X-Realtime-Secret`;
   * - `{ kafka: { topic } }`: a message on the topic, answered on the gateway's reply topic;
   * - `{ provider }`: a provider of the host app implementing `RealtimeRequestHandler`.
   */
  readonly backend:
    | { readonly http: { readonly url: string } }
    | { readonly kafka: { readonly topic: string } }
    | { readonly provider: Type<RealtimeRequestHandler> };
  /** One line for the generated docs. */
  readonly description?: string;
}

/**
 * Declares a request method with its params' type kept (like `symbolEvent` for events), e.g.
 * `requestMethod({ method: 'order.place', params: { symbol: required('symbol') }, backend })`.
 */
export function requestMethod<
  const M extends string,
  const S extends PayloadSchema = PayloadSchema,
>(definition: RequestMethodDefinition<M, S>): RequestMethodDefinition<M, S> {
  return definition;
}
