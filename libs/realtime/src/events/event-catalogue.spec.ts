import { describe, expect, it } from '@jest/globals';
import { SymbolRule } from '../market/symbol-rule.js';
import { KLINE_INTERVALS, MARKET_CHANNELS, USER_CHANNELS } from './channels.js';
import { EVENT_CATALOGUE, RealtimeEvent, eventDefinition } from './event-catalogue.js';
import { checkEventPayload } from './event-validator.js';
import { TICKER_ALL_ROOM, marketRoom, userRoom } from './rooms.js';

const context = {
  symbols: new SymbolRule(),
  payloadBounds: { maxDepth: 32, maxBytes: 1024 * 1024 },
};
const check = (event: string, payload: unknown) =>
  checkEventPayload(eventDefinition(event)!, payload, context);

describe('event catalogue', () => {
  it('holds every event of the wire contract on its channel', () => {
    const byChannel: Record<string, string[]> = {};
    for (const definition of EVENT_CATALOGUE.values()) {
      (byChannel[definition.channel] ??= []).push(definition.event);
    }
    expect(byChannel).toEqual({
      ticker: ['ticker.update', 'tickers.update'],
      orderbook: ['orderbook.snapshot', 'orderbook.update'],
      trades: ['trade'],
      klines: ['kline.update'],
      'user.orders': ['order.created', 'order.filled', 'order.cancelled', 'order.expired'],
      'user.trades': ['trade.executed'],
      'user.balances': ['balance.updated', 'balance.locked', 'balance.unlocked'],
      'user.deposits': ['deposit.detected', 'deposit.confirmed', 'deposit.credited'],
      'user.positions': ['position.update', 'position.liquidated', 'margin.call'],
      system: ['system.alert'],
    });
    expect(new Set(EVENT_CATALOGUE.keys())).toEqual(new Set(Object.values(RealtimeEvent)));
  });

  it('routes market channels by symbol, klines by interval too, user channels by user', () => {
    for (const definition of EVENT_CATALOGUE.values()) {
      if (definition.routing === 'user') expect(USER_CHANNELS).toContain(definition.channel);
      if (definition.routing === 'symbolKey') expect(definition.channel).toBe('klines');
      if (definition.routing === 'symbol') expect(MARKET_CHANNELS).toContain(definition.channel);
    }
    expect(eventDefinition('tickers.update')!.routing).toBe('allSymbols');
    expect(eventDefinition('system.alert')!.routing).toBe('everyone');
  });

  it('names rooms as the contract spells them', () => {
    expect(marketRoom('ticker', 'BTCUSDT')).toBe('ticker:BTCUSDT');
    expect(TICKER_ALL_ROOM).toBe('ticker:all');
    expect(marketRoom('orderbook', 'BTCUSDT')).toBe('orderbook:BTCUSDT');
    expect(marketRoom('trades', 'BTCUSDT')).toBe('trades:BTCUSDT');
    expect(marketRoom('klines', 'BTCUSDT', '1M')).toBe('klines:BTCUSDT:1M');
    expect(USER_CHANNELS.map((channel) => userRoom('42', channel))).toEqual([
      'user:42:orders',
      'user:42:trades',
      'user:42:balances',
      'user:42:deposits',
      'user:42:positions',
    ]);
    expect(KLINE_INTERVALS).toHaveLength(10);
  });
});

describe('event payload validation', () => {
  it('accepts valid payloads and passes unknown fields', () => {
    expect(
      check('ticker.update', { symbol: 'BTCUSDT', lastPrice: '1.5', extra: { any: [1] } }),
    ).toBeNull();
    expect(
      check('tickers.update', { tickers: [{ symbol: 'BTCUSDT' }, { symbol: 'ETH-USD' }] }),
    ).toBeNull();
    expect(
      check('orderbook.update', {
        symbol: 'BTCUSDT',
        firstUpdateId: 3,
        lastUpdateId: 3,
        bids: [['1.0', '0']],
        asks: [],
      }),
    ).toBeNull();
    expect(check('kline.update', { symbol: 'BTCUSDT', interval: '1w', closed: true })).toBeNull();
    expect(check('order.filled', { userId: 42, orderId: 'o-1', price: '-0.5' })).toBeNull();
    expect(check('balance.updated', { userId: 'user_7', asset: 'USDT', free: '10' })).toBeNull();
    expect(check('system.alert', { message: 'hello' })).toBeNull();
  });

  it.each([
    ['ticker.update', null, 'INVALID_PAYLOAD', 'data'],
    ['ticker.update', [], 'INVALID_PAYLOAD', 'data'],
    ['ticker.update', {}, 'INVALID_SYMBOL', 'data.symbol'],
    ['ticker.update', { symbol: 'btcusdt' }, 'INVALID_SYMBOL', 'data.symbol'],
    ['ticker.update', { symbol: 'BTC:USDT' }, 'INVALID_SYMBOL', 'data.symbol'],
    ['ticker.update', { symbol: 'BTCUSDT', lastPrice: 1.5 }, 'INVALID_PAYLOAD', 'data.lastPrice'],
    ['ticker.update', { symbol: 'BTCUSDT', lastPrice: '1e5' }, 'INVALID_PAYLOAD', 'data.lastPrice'],
    ['ticker.update', { symbol: 'BTCUSDT', timestamp: -1 }, 'INVALID_PAYLOAD', 'data.timestamp'],
    ['tickers.update', { tickers: {} }, 'INVALID_PAYLOAD', 'data.tickers'],
    [
      'tickers.update',
      { tickers: [{ symbol: 'A' }, { symbol: 'b' }] },
      'INVALID_SYMBOL',
      'data.tickers[1].symbol',
    ],
    [
      'orderbook.snapshot',
      { symbol: 'BTCUSDT', bids: [], asks: [] },
      'INVALID_PAYLOAD',
      'data.lastUpdateId',
    ],
    [
      'orderbook.snapshot',
      { symbol: 'BTCUSDT', lastUpdateId: 1.5, bids: [], asks: [] },
      'INVALID_PAYLOAD',
      'data.lastUpdateId',
    ],
    [
      'orderbook.snapshot',
      { symbol: 'BTCUSDT', lastUpdateId: 1, bids: [['1', '2', '3']], asks: [] },
      'INVALID_PAYLOAD',
      'data.bids[0]',
    ],
    [
      'orderbook.snapshot',
      { symbol: 'BTCUSDT', lastUpdateId: 1, bids: [], asks: [['1', 'x']] },
      'INVALID_PAYLOAD',
      'data.asks[0]',
    ],
    [
      'orderbook.update',
      { symbol: 'BTCUSDT', firstUpdateId: 9, lastUpdateId: 8, bids: [], asks: [] },
      'INVALID_PAYLOAD',
      'data',
    ],
    ['trade', { symbol: 'BTCUSDT', side: 'short' }, 'INVALID_PAYLOAD', 'data.side'],
    ['kline.update', { symbol: 'BTCUSDT' }, 'INVALID_INTERVAL', 'data.interval'],
    ['kline.update', { symbol: 'BTCUSDT', interval: '1H' }, 'INVALID_INTERVAL', 'data.interval'],
    ['order.created', { orderId: 1 }, 'INVALID_PAYLOAD', 'data.userId'],
    ['order.created', { userId: 'a:b' }, 'INVALID_PAYLOAD', 'data.userId'],
    ['order.created', { userId: -3 }, 'INVALID_PAYLOAD', 'data.userId'],
    [
      'deposit.detected',
      { userId: 'u', confirmations: '3' },
      'INVALID_PAYLOAD',
      'data.confirmations',
    ],
    ['system.alert', { message: 'x'.repeat(5000) }, 'INVALID_PAYLOAD', 'data.message'],
  ])('refuses %s %j with %s at %s', (event, payload, code, field) => {
    const violation = check(event, payload);
    expect(violation).toEqual({ code, field, message: expect.stringContaining(field) });
    expect(violation!.message.length).toBeLessThan(200);
  });
});
