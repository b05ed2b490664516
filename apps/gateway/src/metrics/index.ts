export * from './metrics-options.js';
export * from './metrics-token.guard.js';
export * from './metrics.controller.js';
export * from './metrics.module.js';
