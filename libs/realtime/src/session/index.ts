export * from './dead-man-switch-options.js';
export * from './user-disconnected-notice.js';
export * from './user-presence.js';
export * from './memory-presence.js';
export * from './presence-scripts.js';
export * from './redis-presence.js';
export * from './backend-notifier.js';
export * from './dead-man-switch.service.js';
