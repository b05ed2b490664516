export * from './symbol-rule.js';
