export * from './recovery-options.js';
export * from './room-streams.service.js';
export * from './stream-position.js';
