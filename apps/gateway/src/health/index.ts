export * from './readiness-check.js';
export * from './health.controller.js';
