import { describe, expect, it } from '@jest/globals';
import { BOOK_DEPTHS, FEED_RATES, feedOf, isConflatedBook, sameFeed } from './market-feed.js';
import { subscriptionKey } from './realtime-client.js';

describe('subscription keys and feeds', () => {
  it('keys a subscription by its room: the feed is no part of it', () => {
    expect(
      subscriptionKey({ channel: 'orderbook', symbol: 'btcusdt', rate: '250ms', depth: 10 }),
    ).toBe('orderbook:BTCUSDT');
    expect(subscriptionKey({ channel: 'ticker', symbol: 'all', rate: '1000ms' })).toBe(
      'ticker:ALL',
    );
    // A keyed channel keeps its key, whichever field comes first.
    expect(
      subscriptionKey({ channel: 'klines', symbol: 'ETHUSDT', rate: '100ms', interval: '1m' }),
    ).toBe('klines:ETHUSDT:1m');
    expect(
      subscriptionKey({ channel: 'funding', symbol: 'ETHUSDT', depth: 20, chain: 'eth' }),
    ).toBe('funding:ETHUSDT:eth');
    expect(subscriptionKey({ channel: 'user.orders' })).toBe('user.orders');
  });

  it('spells out a feed, and tells a switch from the same feed', () => {
    expect(FEED_RATES).toEqual(['realtime', '100ms', '250ms', '1000ms']);
    expect(BOOK_DEPTHS).toEqual([10, 20, 50, 100]);
    expect(feedOf({})).toEqual({ rate: 'realtime' });
    expect(feedOf({ rate: '250ms', depth: 50 })).toEqual({ rate: '250ms', depth: 50 });
    expect(sameFeed({}, { rate: 'realtime' })).toBe(true);
    expect(sameFeed({ rate: '250ms' }, { rate: '250ms', depth: 10 })).toBe(false);
    expect(sameFeed({ rate: '250ms' }, { rate: '1000ms' })).toBe(false);
    expect(sameFeed({ depth: 10 }, { rate: 'realtime', depth: 10 })).toBe(true);
  });

  it('knows which order-book feeds skip offsets', () => {
    expect(isConflatedBook({})).toBe(false);
    expect(isConflatedBook({ rate: 'realtime' })).toBe(false);
    expect(isConflatedBook({ rate: '100ms' })).toBe(true);
    expect(isConflatedBook({ depth: 100 })).toBe(true);
  });
});
