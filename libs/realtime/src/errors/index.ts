export * from './realtime-error-code.js';
export * from './realtime.exception.js';
export * from './describe-value.js';
export * from './realtime-options.error.js';
