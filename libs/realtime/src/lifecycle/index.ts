export * from './readiness-check.js';
export * from './connection-drain.service.js';
export * from './realtime-health.indicator.js';
