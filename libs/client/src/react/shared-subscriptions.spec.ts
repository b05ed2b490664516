import { describe, expect, it } from '@jest/globals';
import type { Subscription } from '../realtime-client.js';
import { SharedSubscriptions } from './shared-subscriptions.js';

/** Records what would go to the gateway. */
function recorder() {
  const sent: Array<[string, Subscription]> = [];
  const client = {
    subscribe: async (s: Subscription) => void sent.push(['subscribe', s]),
    unsubscribe: async (s: Subscription) => void sent.push(['unsubscribe', s]),
  };
  return { sent, shared: new SharedSubscriptions(client) };
}

const settled = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('SharedSubscriptions', () => {
  it('shares one room between holders and ends it when the last lets go', async () => {
    const { sent, shared } = recorder();
    const trades = { channel: 'trades', symbol: 'BTCUSDT' };
    const first = shared.hold(trades);
    const second = shared.hold({ ...trades });
    expect(sent).toEqual([['subscribe', trades]]);
    first();
    first(); // twice is once
    await settled();
    expect(shared.holders(trades)).toBe(1);
    expect(sent).toHaveLength(1);
    second();
    await settled();
    expect(sent).toEqual([
      ['subscribe', trades],
      ['unsubscribe', trades],
    ]);
    expect(shared.holders(trades)).toBe(0);
  });

  it('switches the feed when a holder changes it in one commit, without unsubscribing', async () => {
    const { sent, shared } = recorder();
    const at250 = { channel: 'orderbook', symbol: 'ETHUSDT', rate: '250ms', depth: 10 } as const;
    const at1000 = { channel: 'orderbook', symbol: 'ETHUSDT', rate: '1000ms', depth: 10 } as const;
    const release = shared.hold(at250);
    // What React does when the props change: the old effect's cleanup, then the new effect.
    release();
    const releaseNew = shared.hold(at1000);
    await settled();
    expect(sent).toEqual([
      ['subscribe', at250],
      ['subscribe', at1000],
    ]);
    releaseNew();
    await settled();
    expect(sent.at(-1)).toEqual(['unsubscribe', at1000]);
  });

  it("takes the newest holder's feed, and goes back to the newest left when it lets go", async () => {
    const { sent, shared } = recorder();
    const realtime = { channel: 'ticker', symbol: 'all' };
    const slow = { channel: 'ticker', symbol: 'all', rate: '1000ms' } as const;
    shared.hold(realtime);
    const releaseSlow = shared.hold(slow);
    // The same feed again asks nothing more.
    const releaseSame = shared.hold({ channel: 'ticker', symbol: 'all', rate: '1000ms' });
    releaseSame();
    await settled();
    expect(sent).toEqual([
      ['subscribe', realtime],
      ['subscribe', slow],
    ]);
    releaseSlow();
    await settled();
    expect(sent.at(-1)).toEqual(['subscribe', realtime]);
    expect(shared.holders(realtime)).toBe(1);
  });

  it('keeps rooms apart: klines of two intervals are two subscriptions', async () => {
    const { sent, shared } = recorder();
    shared.hold({ channel: 'klines', symbol: 'BTCUSDT', interval: '1m' });
    shared.hold({ channel: 'klines', symbol: 'BTCUSDT', interval: '5m', rate: '250ms' });
    await settled();
    expect(sent.map(([kind]) => kind)).toEqual(['subscribe', 'subscribe']);
  });
});
