/** Stable error codes clients can switch on; documented in docs/PROTOCOL.md. */
export const RealtimeErrorCode = {
  InvalidPayload: 'INVALID_PAYLOAD',
  UnknownChannel: 'UNKNOWN_CHANNEL',
  InvalidSymbol: 'INVALID_SYMBOL',
  InvalidInterval: 'INVALID_INTERVAL',
  AuthRequired: 'AUTH_REQUIRED',
  AuthInvalid: 'AUTH_INVALID',
  AuthExpired: 'AUTH_EXPIRED',
  Forbidden: 'FORBIDDEN',
  RateLimited: 'RATE_LIMITED',
  SubscriptionLimit: 'SUBSCRIPTION_LIMIT',
  ConnectionLimit: 'CONNECTION_LIMIT',
  Internal: 'INTERNAL',
  /** A `request` named a method the gateway does not serve. */
  UnknownMethod: 'UNKNOWN_METHOD',
  /** A `request`'s backend did not answer within the method's `timeoutMs`. */
  Timeout: 'TIMEOUT',
  /** A `request`'s backend could not be reached (connection refused, 5xx, producer down). */
  Unavailable: 'UNAVAILABLE',
  /**
   * A `subscribe` named a symbol whose bus group this instance does not serve (an instance
   * pool routed by symbol group, `REDIS_BUS_SYMBOL_GROUPS`): connect to that group's pool.
   */
  WrongInstance: 'WRONG_INSTANCE',
} as const;
export type RealtimeErrorCode = (typeof RealtimeErrorCode)[keyof typeof RealtimeErrorCode];
