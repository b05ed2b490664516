export * from './websocket-broadcast.service.js';
export * from './room-sequencer.js';
export * from './envelope.js';
export * from './message-batcher.js';
