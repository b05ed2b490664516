/*
 * What a host app uses: the module and its options, the adapters, the catalogue and its
 * typed publisher, what clients receive, and what operations need. Everything else is the
 * module's own and may change between versions.
 */

// The module and its options
export { RealtimeModule } from './realtime.module.js';
export type { RealtimeModuleOptions } from './realtime.module-definition.js';
export type { JwtAlgorithm, RealtimeAuthOptions } from './auth/realtime-auth-options.js';
export type { RealtimeLimitsOptions } from './limits/realtime-limits-options.js';
export type { ChannelHistory, RealtimeRecoveryOptions } from './recovery/recovery-options.js';
export type { DeadManSwitchOptions } from './session/dead-man-switch-options.js';
export type { RealtimeRequestsOptions } from './requests/realtime-requests-options.js';
export { RealtimeOptionsError } from './errors/realtime-options.error.js';

// Serving connections
export { RealtimeIoAdapter } from './gateway/realtime-io.adapter.js';
export { RedisIoAdapter, type RedisClusterOptions } from './cluster/redis-io.adapter.js';

// The catalogue: built-in events, your own, and typed publishing
export {
  RealtimeEvent,
  type RealtimeEventName,
  type RealtimeEventPayloads,
} from './events/event-catalogue.js';
export {
  broadcastEvent,
  symbolEvent,
  symbolKeyEvent,
  userEvent,
  type CustomEventDefinition,
  type CustomEventPayloads,
} from './events/custom-events.js';
export {
  optional,
  required,
  requiredList,
  type FieldType,
  type PayloadSchema,
} from './events/payload-schema.js';
export { RealtimeEmitter, type CataloguePayloads } from './events/realtime-emitter.js';
export { RealtimeCatalogue } from './events/realtime-catalogue.js';
export {
  KLINE_INTERVALS,
  type Channel,
  type KlineInterval,
  type MarketChannel,
  type UserChannel,
} from './events/channels.js';
export { ClientEvent, ServerEvent } from './events/protocol-events.js';
export { asyncApiDocument } from './docs/asyncapi-document.js';

// Client requests and cancel-on-disconnect
export { requestMethod, type RequestMethodDefinition } from './requests/request-method.js';
export {
  RequestRefused,
  type RealtimeRequestHandler,
} from './requests/realtime-request-handler.js';
export type { BackendAnswer, RelayedRequest } from './requests/request-transport.js';
export {
  INSTANCE_LOST_REASON,
  USER_DISCONNECTED_EVENT,
  type UserDisconnectedNotice,
} from './session/user-disconnected-notice.js';

// What clients receive
export type { DeliveredPayload, Envelope } from './broadcast/envelope.js';
export { BOOK_DEPTHS, FEED_RATES, type BookDepth, type FeedRate } from './feeds/feed-choice.js';
export type { RecoveryFailure, StreamPosition } from './recovery/stream-position.js';
export { RealtimeErrorCode } from './errors/realtime-error-code.js';

// Operations
export { RealtimeMetrics } from './metrics/realtime-metrics.js';
export {
  ReadinessRegistry,
  type ReadinessCheck,
  type ReadinessStatus,
} from './lifecycle/readiness-check.js';
export {
  RealtimeHealthIndicator,
  type RealtimeHealth,
} from './lifecycle/realtime-health.indicator.js';
export { ConnectionDrain } from './lifecycle/connection-drain.service.js';
export { EventIngress } from './ingress/event-ingress.service.js';
