export * from './cluster-bus.js';
export * from './redis-io.adapter.js';
