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
} as const;
export type RealtimeErrorCode = (typeof RealtimeErrorCode)[keyof typeof RealtimeErrorCode];
