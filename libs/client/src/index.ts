export * from './order-book-sync.js';
export { OrderBook, CHECKSUM_DEPTH, type BookLevel } from '../../realtime/src/market/order-book.js';
export { crc32 } from '../../realtime/src/market/crc32.js';
