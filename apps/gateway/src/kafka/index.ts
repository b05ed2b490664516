export * from './kafka-ingress-options.js';
export * from './kafka-ingress.server.js';
export * from './kafka-event-bridge.js';
export * from './kafka-ingress.module.js';
