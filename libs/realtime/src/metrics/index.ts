export * from './counted-log.js';
export * from './rejected-event-log.js';
export * from './auth-failure-log.js';
export * from './realtime-metrics.js';
