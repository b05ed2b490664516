export * from './realtime-error-code.js';
export * from './realtime.exception.js';
export * from './describe-value.js';
