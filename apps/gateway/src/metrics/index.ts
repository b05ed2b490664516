export * from './metrics.controller.js';
