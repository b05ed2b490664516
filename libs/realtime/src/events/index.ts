export * from './channels.js';
export * from './rooms.js';
export * from './payload-schema.js';
export * from './payload-bounds.js';
export * from './event-catalogue.js';
export * from './event-validator.js';
export * from './protocol-events.js';
