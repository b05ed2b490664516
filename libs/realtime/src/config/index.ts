export * from './realtime-settings.js';
