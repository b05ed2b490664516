export * from './symbol-rule.js';
export * from './crc32.js';
export * from './order-book.js';
export * from './order-book-sequencer.js';
export * from './market-state.service.js';
export * from './top-level-changes.js';
