/** Protection against hostile and broken clients; every limit has a gateway variable too. */
export interface RealtimeLimitsOptions {
  /** Inbound messages per second per connection (token bucket refill). Default 10. */
  messageRate?: number;
  /** Inbound messages a connection may send at once (bucket size). Default 20. */
  messageBurst?: number;
  /** Refused messages within 10 s after which the connection is closed (`rate_limited`). Default 100. */
  messageRefusalsBeforeDisconnect?: number;
  /** Connections on this instance; 0 = no limit. Default 0. */
  maxConnections?: number;
  /** Connections from one client address (cluster-wide with Redis); 0 = no limit. Default 100. */
  maxConnectionsPerIp?: number;
  /** Connections of one user (cluster-wide with Redis); 0 = no limit. Default 20. */
  maxConnectionsPerUser?: number;
  /** New connections per minute from one client address (cluster-wide with Redis); 0 = no limit. Default 300. */
  newConnectionsPerIpPerMinute?: number;
  /** Subscriptions on one connection. Default 100. */
  maxSubscriptionsPerConnection?: number;
  /** Largest inbound frame; a larger one closes that connection. Default 16384. */
  maxMessageBytes?: number;
  /** Unsent bytes a connection may hold before conflatable market data is skipped for it. Default 1 MiB. */
  slowConsumerMaxBytes?: number;
  /** How long a connection may stay over that bound before it is closed (`slow_consumer`). Default 5000. */
  slowConsumerGraceMs?: number;
  /** Close connections that subscribed to nothing this long after connecting; 0 = off (default). */
  subscribeDeadlineMs?: number;
  /**
   * With Redis: how long a connection's slot outlives its instance if that process dies
   * without giving it back (instances refresh their slots every third of this). Default 30000.
   */
  connectionSlotLifetimeMs?: number;
  /** Take the client address from `X-Forwarded-For` (its first entry) instead of the socket. Default false. */
  trustProxy?: boolean;
  /** Deepest nesting of objects and arrays an ingress event's `data` may have; deeper is refused at every ingress. Default 32. */
  maxEventDepth?: number;
  /** Largest ingress event (its `data` as JSON, approximately); larger is refused at every ingress. Default 1048576 (1 MiB). */
  maxEventBytes?: number;
}

export type ResolvedLimits = Required<RealtimeLimitsOptions>;

export const DEFAULT_LIMITS: ResolvedLimits = {
  messageRate: 10,
  messageBurst: 20,
  messageRefusalsBeforeDisconnect: 100,
  maxConnections: 0,
  maxConnectionsPerIp: 100,
  maxConnectionsPerUser: 20,
  newConnectionsPerIpPerMinute: 300,
  maxSubscriptionsPerConnection: 100,
  maxMessageBytes: 16 * 1024,
  slowConsumerMaxBytes: 1024 * 1024,
  slowConsumerGraceMs: 5000,
  subscribeDeadlineMs: 0,
  connectionSlotLifetimeMs: 30_000,
  trustProxy: false,
  maxEventDepth: 32,
  maxEventBytes: 1024 * 1024,
};
