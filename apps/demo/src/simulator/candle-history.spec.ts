import { describe, expect, it } from '@jest/globals';
import { BACKFILL_MINUTES, CandleHistory, MAX_CANDLES } from './candle-history.js';
import { DEMO_MARKETS } from './simulated-market.js';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 11, 3, 12, 30, 15);
const BTC = DEMO_MARKETS[0]!;

function closedAt(openTime: number, close = '1.0') {
  return {
    symbol: BTC.symbol,
    interval: '1m' as const,
    openTime,
    closeTime: openTime + MINUTE - 1,
    open: '1.0',
    high: close,
    low: '1.0',
    close,
    volume: '1.0000',
    closed: true,
  };
}

describe('CandleHistory', () => {
  it('starts with a made-up past of whole minutes that ends at the start price, before the current minute', () => {
    const candles = new CandleHistory(BTC, NOW).latest(MAX_CANDLES);
    expect(candles).toHaveLength(BACKFILL_MINUTES);
    const current = Math.floor(NOW / MINUTE) * MINUTE;
    expect(candles.at(-1)!.openTime).toBe(current - MINUTE);
    expect(candles.at(-1)!.close).toBe((BTC.startTicks * BTC.tick).toFixed(BTC.priceDecimals));
    candles.forEach((candle, i) => {
      if (i > 0) {
        expect(candle.openTime - candles[i - 1]!.openTime).toBe(MINUTE);
        // Each minute opens where the one before closed.
        expect(candle.open).toBe(candles[i - 1]!.close);
      }
      const [open, high, low, close] = [candle.open, candle.high, candle.low, candle.close].map(
        Number,
      );
      expect(high).toBeGreaterThanOrEqual(Math.max(open!, close!));
      expect(low).toBeLessThanOrEqual(Math.min(open!, close!));
      expect(candle.closed).toBe(true);
    });
  });

  it('keeps closed candles only, replaces a repeated minute and drops the oldest past its bound', () => {
    const history = new CandleHistory(BTC, NOW);
    const current = Math.floor(NOW / MINUTE) * MINUTE;
    history.record({ ...closedAt(current), closed: false });
    expect(history.latest(1)[0]!.openTime).toBe(current - MINUTE);
    history.record(closedAt(current, '2.0'));
    history.record(closedAt(current, '3.0'));
    expect(history.latest(2).map((c) => [c.openTime, c.close])).toEqual([
      [current - MINUTE, history.latest(2)[0]!.close],
      [current, '3.0'],
    ]);
    for (let k = 1; k <= MAX_CANDLES; k++) history.record(closedAt(current + k * MINUTE));
    const all = history.latest(MAX_CANDLES + 10);
    expect(all).toHaveLength(MAX_CANDLES);
    expect(all[0]!.openTime).toBe(current + MINUTE);
    expect(all.at(-1)!.openTime).toBe(current + MAX_CANDLES * MINUTE);
  });
});
