export * from './feed-choice.js';
export * from './feed.js';
export * from './book-feed.js';
export * from './window-feed.js';
export * from './subscriber-feeds.service.js';
