export * from './cluster-bus.js';
export * from './cluster-link.js';
export * from './redis-io.adapter.js';
