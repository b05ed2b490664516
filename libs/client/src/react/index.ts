export * from './realtime-hooks.js';
