import { describe, expect, it } from '@jest/globals';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { RealtimeException } from '../errors/index.js';
import { SubscriptionParser } from './subscription-parser.js';

const parser = new SubscriptionParser(new RealtimeSettings({ symbols: ['BTCUSDT', 'ETHUSDT'] }));

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
      interval: undefined,
      room: 'ticker:BTCUSDT',
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

  it('never echoes a long value in full', () => {
    const { message } = refusal(() => parser.market({ channel: 'ticker', symbol: 'Y'.repeat(60) }));
    expect(message).toContain('(60 characters)');
    expect(message.length).toBeLessThan(160);
  });
});
