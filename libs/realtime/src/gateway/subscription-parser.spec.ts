import { describe, expect, it } from '@jest/globals';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { RealtimeException } from '../errors/index.js';
import { symbolKeyEvent, userEvent } from '../events/custom-events.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { SubscriptionParser } from './subscription-parser.js';

const parser = new SubscriptionParser(
  new RealtimeSettings({ symbols: ['BTCUSDT', 'ETHUSDT'] }),
  new RealtimeCatalogue([
    symbolKeyEvent('price.update', { channel: 'prices', key: 'chain', values: ['1', '137'] }),
    userEvent('portfolio.update', { channel: 'user.portfolio' }),
  ]),
);

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof RealtimeException) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('SubscriptionParser', () => {
  it('parses market subscriptions into canonical rooms', () => {
    expect(parser.market({ channel: 'ticker', symbol: 'btcusdt' })).toEqual({
      channel: 'ticker',
      symbol: 'BTCUSDT',
      key: undefined,
      room: 'ticker:BTCUSDT',
      named: { channel: 'ticker', symbol: 'BTCUSDT' },
    });
    expect(parser.market({ channel: 'klines', symbol: 'ETHUSDT', interval: '4h' }).named).toEqual({
      channel: 'klines',
      symbol: 'ETHUSDT',
      interval: '4h',
    });
    expect(parser.market({ channel: 'ticker', symbol: 'ALL' }).room).toBe('ticker:all');
    expect(parser.market({ channel: 'klines', symbol: 'ETHUSDT', interval: '4h' }).room).toBe(
      'klines:ETHUSDT:4h',
    );
  });

  it('answers each mistake with its code', () => {
    expect(refusal(() => parser.market(undefined)).code).toBe('INVALID_PAYLOAD');
    expect(refusal(() => parser.market({ channel: 'ticker' })).code).toBe('INVALID_PAYLOAD');
    expect(refusal(() => parser.market({ channel: 'depth', symbol: 'BTCUSDT' })).code).toBe(
      'UNKNOWN_CHANNEL',
    );
    expect(refusal(() => parser.market({ channel: 'ticker', symbol: 'SOLUSDT' }))).toEqual({
      code: 'INVALID_SYMBOL',
      message: 'symbol is not a listed symbol, got "SOLUSDT"',
    });
    expect(
      refusal(() => parser.market({ channel: 'klines', symbol: 'BTCUSDT', interval: '1H' })).code,
    ).toBe('INVALID_INTERVAL');
    expect(refusal(() => parser.user({ channel: 'orders' })).code).toBe('UNKNOWN_CHANNEL');
    expect(parser.user({ channel: 'user.deposits' })).toBe('user.deposits');
  });

  it('takes a host channel and its own key, and refuses what the catalogue does not have', () => {
    expect(parser.market({ channel: 'prices', symbol: 'ETHUSDT', chain: '137' })).toMatchObject({
      key: '137',
      room: 'prices:ETHUSDT:137',
      named: { channel: 'prices', symbol: 'ETHUSDT', chain: '137' },
    });
    expect(
      refusal(() => parser.market({ channel: 'prices', symbol: 'ETHUSDT', chain: '2' })),
    ).toEqual({
      code: 'INVALID_PAYLOAD',
      message: 'chain must be one of 1, 137, got "2"',
    });
    expect(refusal(() => parser.market({ channel: 'prices', symbol: 'ETHUSDT' })).message).toBe(
      'chain is required for prices',
    );
    expect(
      refusal(() =>
        parser.market({ channel: 'prices', symbol: 'ETHUSDT', chain: '1', interval: '1m' }),
      ),
    ).toEqual({ code: 'INVALID_INTERVAL', message: 'interval applies only to klines' });
    expect(
      refusal(() => parser.market({ channel: 'trades', symbol: 'ETHUSDT', note: 'x' })).message,
    ).toBe('unknown field "note"; allowed: channel, symbol');
    expect(refusal(() => parser.market({ channel: 'depth', symbol: 'BTCUSDT' })).code).toBe(
      'UNKNOWN_CHANNEL',
    );
    expect(refusal(() => parser.market({ channel: 'ticker', symbol: 'SOLUSDT' }))).toEqual({
      code: 'INVALID_SYMBOL',
      message: 'symbol is not a listed symbol, got "SOLUSDT"',
    });
    expect(
      refusal(() => parser.market({ channel: 'klines', symbol: 'BTCUSDT', interval: '1H' })).code,
    ).toBe('INVALID_INTERVAL');
    expect(refusal(() => parser.user({ channel: 'orders' })).code).toBe('UNKNOWN_CHANNEL');
    expect(parser.user({ channel: 'user.deposits' })).toBe('user.deposits');
  });

  it('takes a host channel and its own key, and refuses what the catalogue does not have', () => {
    expect(parser.market({ channel: 'prices', symbol: 'ETHUSDT', chain: '137' })).toMatchObject({
      key: '137',
      room: 'prices:ETHUSDT:137',
      named: { channel: 'prices', symbol: 'ETHUSDT', chain: '137' },
    });
    expect(
      refusal(() => parser.market({ channel: 'prices', symbol: 'ETHUSDT', chain: '2' })),
    ).toEqual({
      code: 'INVALID_PAYLOAD',
      message: 'chain must be one of 1, 137, got "2"',
    });
    expect(refusal(() => parser.market({ channel: 'prices', symbol: 'ETHUSDT' })).message).toBe(
      'chain is required for prices',
    );
    expect(
      refusal(() =>
        parser.market({ channel: 'prices', symbol: 'ETHUSDT', chain: '1', interval: '1m' }),
      ),
    ).toEqual({ code: 'INVALID_INTERVAL', message: 'interval applies only to klines' });
    expect(
      refusal(() => parser.market({ channel: 'trades', symbol: 'ETHUSDT', note: 'x' })).message,
    ).toBe('unknown field "note"; allowed: channel, symbol');
    expect(refusal(() => parser.market({ channel: 'depth', symbol: 'BTCUSDT' }))).toEqual({
      code: 'UNKNOWN_CHANNEL',
      message: 'channel must be one of ticker, orderbook, trades, klines, prices, got "depth"',
    });
    expect(parser.user({ channel: 'user.portfolio' })).toBe('user.portfolio');
    expect(
      refusal(() => parser.market({ channel: 'user.portfolio', symbol: 'BTCUSDT' })).code,
    ).toBe('UNKNOWN_CHANNEL');
  });

  it('refuses a sent symbol that is no string, too long in characters, or not ASCII', () => {
    expect(refusal(() => parser.market({ channel: 'ticker', symbol: 5 }))).toEqual({
      code: 'INVALID_SYMBOL',
      message: 'symbol must be a string, got 5',
    });
    expect(refusal(() => parser.market({ channel: 'ticker', symbol: 'ethusdß' }))).toEqual({
      code: 'INVALID_SYMBOL',
      message: 'symbol must be ASCII, got "ethusdß"',
    });
    expect(
      refusal(() => parser.market({ channel: 'ticker', symbol: 'é'.repeat(65) })).message,
    ).toBe(`symbol must be at most 64 characters, got "${'é'.repeat(64)}..." (65 characters)`);
  });

  it('echoes the subscription fields sent as strings, as sent, cut at 64 characters', () => {
    expect(
      parser.echoMarket({
        channel: 'prices',
        symbol: 'ethusdt',
        chain: 2,
        interval: 'Z'.repeat(70),
      }),
    ).toEqual({ channel: 'prices', symbol: 'ethusdt', interval: 'Z'.repeat(64) + '...' });
    expect(parser.echoMarket({ channel: 'ticker', symbol: '😀'.repeat(65), note: 'x' })).toEqual({
      channel: 'ticker',
      symbol: '😀'.repeat(64) + '...',
    });
    expect(parser.echoMarket('BTCUSDT')).toEqual({});
    expect(parser.echoUser({ channel: 'user.orders', userId: 'u1' })).toEqual({
      channel: 'user.orders',
    });
  });

  it('never echoes a long value in full', () => {
    const { message } = refusal(() => parser.market({ channel: 'ticker', symbol: 'Y'.repeat(60) }));
    expect(message).toContain('(60 characters)');
    expect(message.length).toBeLessThan(160);
  });
});
