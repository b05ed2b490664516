// kafka-requests.ts is not here: it loads kafkajs, which only apps with Kafka methods install.
export * from './request-transport.js';
export * from './request-method.js';
export * from './realtime-request-handler.js';
export * from './realtime-requests-options.js';
export * from './request-command.js';
export * from './request-answers.js';
export * from './redis-request-answers.js';
export * from './http-request-transport.js';
export * from './provider-request-transport.js';
export * from './kafka-request-record.js';
export * from './kafka-pending-replies.js';
export * from './request-relay.service.js';
