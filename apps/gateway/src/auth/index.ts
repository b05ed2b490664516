export * from './bearer-token.js';
