/** What a client sends; each accepts an optional ack callback. */
export const ClientEvent = {
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
  SubscribePrivate: 'subscribe.private',
  UnsubscribePrivate: 'unsubscribe.private',
  Ping: 'ping',
  AuthRefresh: 'auth.refresh',
  /** `{ method, params, requestId? }`: relayed to the method's backend; answered by `response`. */
  Request: 'request',
} as const;
export type ClientEventName = (typeof ClientEvent)[keyof typeof ClientEvent];

/** What the server sends besides domain events. */
export const ServerEvent = {
  Connected: 'connected',
  Subscribed: 'subscribed',
  Unsubscribed: 'unsubscribed',
  Error: 'error',
  Pong: 'pong',
  AuthRefreshed: 'auth.refreshed',
  AuthExpired: 'auth.expired',
  ServerShutdown: 'server.shutdown',
  ServerDisconnect: 'server.disconnect',
  Batch: 'batch',
  /** The answer to a `request` without an ack: `{ ok: true, method, requestId, result }`. */
  Response: 'response',
} as const;
export type ServerEventName = (typeof ServerEvent)[keyof typeof ServerEvent];
