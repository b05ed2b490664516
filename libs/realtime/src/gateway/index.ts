export * from './app-websocket.gateway.js';
export * from './connection-data.js';
export { CLOSE_GRACE_MS, closeForCause, type CloseNotice } from './connection-release.js';
export { CONNECT_TIMEOUT_MS } from './gateway-server-options.js';
export * from './realtime-exception.filter.js';
export * from './realtime-io.adapter.js';
export * from './subscription-parser.js';
export * from './subscription.dto.js';
export type { Ack } from './reply.js';
