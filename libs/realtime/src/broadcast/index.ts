export * from './websocket-broadcast.service.js';
export * from './envelope.js';
export * from './message-batcher.js';
