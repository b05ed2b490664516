export * from './kafka-ingress-options.js';
export * from './kafka-ingress.server.js';
export * from './kafka-event-bridge.js';
export * from './kafka-ingress.module.js';
export * from './kafka-dead-letters.js';
export * from './kafka-record-text.js';
export * from './kafka-record-parser.js';
