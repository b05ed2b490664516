export * from './realtime-auth-options.js';
export * from './resolved-auth.js';
export * from './token-verifier.js';
export * from './handshake-token.js';
export * from './expiry-scheduler.js';
export * from './connection-authenticator.js';
export * from './session-lifetime.service.js';
