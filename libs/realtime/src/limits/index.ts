export * from './realtime-limits-options.js';
export * from './client-address.js';
export * from './message-rate.js';
export * from './connection-slots.js';
export * from './connection-guard.service.js';
export * from './unjoined-connections.js';
