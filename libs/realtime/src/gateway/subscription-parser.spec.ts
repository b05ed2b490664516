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
      feed: { rate: 'realtime' },
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

  it('takes a rate on every public channel and a depth on order books, echoing both', () => {
    expect(
      parser.market({ channel: 'orderbook', symbol: 'btcusdt', rate: '250ms', depth: 10 }),
    ).toMatchObject({
      room: 'orderbook:BTCUSDT',
      named: { channel: 'orderbook', symbol: 'BTCUSDT', rate: '250ms', depth: 10 },
      feed: { rate: '250ms', depth: 10 },
    });
    expect(parser.market({ channel: 'orderbook', symbol: 'BTCUSDT', depth: 20 }).feed).toEqual({
      rate: 'realtime',
      depth: 20,
    });
    expect(parser.market({ channel: 'ticker', symbol: 'all', rate: '1000ms' })).toMatchObject({
      room: 'ticker:all',
      named: { channel: 'ticker', symbol: 'all', rate: '1000ms' },
    });
    expect(parser.market({ channel: 'trades', symbol: 'BTCUSDT', rate: 'realtime' }).named).toEqual(
      { channel: 'trades', symbol: 'BTCUSDT' },
    );
    const wrong: Array<[object, string]> = [
      [
        { channel: 'ticker', rate: '5ms' },
        'rate must be one of realtime, 100ms, 250ms, 1000ms, got "5ms"',
      ],
      [
        { channel: 'ticker', rate: 100 },
        'rate must be one of realtime, 100ms, 250ms, 1000ms, got 100',
      ],
      [{ channel: 'orderbook', depth: 7 }, 'depth must be one of 10, 20, 50, 100, got 7'],
      [{ channel: 'orderbook', depth: '10' }, 'depth must be one of 10, 20, 50, 100, got "10"'],
      [{ channel: 'trades', depth: 10 }, 'depth applies only to orderbook'],
      [{ channel: 'klines', interval: '1m', depth: 10 }, 'depth applies only to orderbook'],
    ];
    for (const [fields, message] of wrong)
      expect(refusal(() => parser.market({ symbol: 'BTCUSDT', ...fields }, true))).toEqual({
        code: 'INVALID_PAYLOAD',
        message,
      });
  });

  it('takes since on subscribe only, as { offset, epoch } and nothing else', () => {
    const since = { offset: 41, epoch: 'mx6ckaso84d23e6c' };
    expect(parser.market({ channel: 'trades', symbol: 'btcusdt', since }, true)).toMatchObject({
      room: 'trades:BTCUSDT',
      since,
    });
    expect(parser.user({ channel: 'user.orders', since }, true)).toEqual({
      channel: 'user.orders',
      since,
    });
    expect(parser.market({ channel: 'trades', symbol: 'BTCUSDT' }, true).since).toBeUndefined();
    const wrong: Array<[unknown, string]> = [
      [7, 'since must be { offset, epoch } as a message carried them, got 7'],
      [{ offset: 1, epoch: 'e', seq: 2 }, 'unknown field since.seq; allowed: offset, epoch'],
      [{ offset: -1, epoch: 'e' }, 'since.offset must be a whole number from 0, got -1'],
      [{ offset: 1.5, epoch: 'e' }, 'since.offset must be a whole number from 0, got 1.5'],
      [
        { offset: 2 ** 53, epoch: 'e' },
        'since.offset must be a whole number from 0, got 9007199254740992',
      ],
      [
        { offset: 1 },
        'since.epoch must be the epoch a message carried (1-64 of A-Z a-z 0-9 . _ : -), got undefined',
      ],
      [
        { offset: 1, epoch: '' },
        'since.epoch must be the epoch a message carried (1-64 of A-Z a-z 0-9 . _ : -), got ""',
      ],
      [{ offset: 1, epoch: 'x'.repeat(65) }, expect.stringContaining('since.epoch must be')],
      [{ offset: 1, epoch: 'a b' }, expect.stringContaining('since.epoch must be')],
    ] as Array<[unknown, string]>;
    for (const [value, message] of wrong) {
      expect(
        refusal(() => parser.market({ channel: 'trades', symbol: 'BTCUSDT', since: value }, true)),
      ).toEqual({
        code: 'INVALID_PAYLOAD',
        message,
      });
      expect(refusal(() => parser.user({ channel: 'user.orders', since: value }, true)).code).toBe(
        'INVALID_PAYLOAD',
      );
    }
    // Unsubscribe has no position to catch up from.
    expect(refusal(() => parser.market({ channel: 'trades', symbol: 'BTCUSDT', since }))).toEqual({
      code: 'INVALID_PAYLOAD',
      message: 'unknown field "since"; allowed: channel, symbol, rate',
    });
    expect(refusal(() => parser.user({ channel: 'user.orders', since })).code).toBe(
      'INVALID_PAYLOAD',
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
    expect(parser.user({ channel: 'user.deposits' }).channel).toBe('user.deposits');
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
    ).toBe('unknown field "note"; allowed: channel, symbol, rate');
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
    expect(parser.user({ channel: 'user.deposits' }).channel).toBe('user.deposits');
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
    ).toBe('unknown field "note"; allowed: channel, symbol, rate');
    expect(refusal(() => parser.market({ channel: 'depth', symbol: 'BTCUSDT' }))).toEqual({
      code: 'UNKNOWN_CHANNEL',
      message: 'channel must be one of ticker, orderbook, trades, klines, prices, got "depth"',
    });
    expect(parser.user({ channel: 'user.portfolio' }).channel).toBe('user.portfolio');
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
