export * from './realtime-client.js';
export * from './observable-value.js';
export * from './order-book-sync.js';
export {
  BOOK_DEPTHS,
  FEED_RATES,
  type BookDepth,
  type FeedRate,
  type MarketFeed,
} from './market-feed.js';
export {
  positionOf,
  StreamPositions,
  type AnsweredRecovery,
  type Arrival,
  type Gap,
  type RecoveryAnswer,
  type RecoveryReason,
  type StreamPosition,
} from './stream-positions.js';
export { tokenExpiry } from './token-expiry.js';
export {
  RealtimeRequestError,
  DEFAULT_MAX_PENDING_REQUESTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type RequestAnswer,
  type RequestOptions,
} from './pending-requests.js';
export { OrderBook, CHECKSUM_DEPTH, type BookLevel } from '../../realtime/src/market/order-book.js';
export { crc32 } from '../../realtime/src/market/crc32.js';
export type { Envelope } from '../../realtime/src/broadcast/envelope.js';
export type {
  RealtimeEventName,
  RealtimeEventPayloads,
} from '../../realtime/src/events/event-catalogue.js';
export type { CustomEventPayloads } from '../../realtime/src/events/custom-events.js';
export type { CataloguePayloads } from '../../realtime/src/events/realtime-emitter.js';
