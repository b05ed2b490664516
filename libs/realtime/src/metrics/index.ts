export * from './rejected-event-log.js';
