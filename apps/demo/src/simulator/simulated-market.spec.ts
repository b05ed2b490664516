import { describe, expect, it } from '@jest/globals';
import { RealtimeCatalogue, RealtimeSettings, checkEventPayload } from '#realtime/internal';
import { DEMO_EVENTS } from './demo-events.js';
import { DEMO_MARKETS, SimulatedMarket } from './simulated-market.js';

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const settings = new RealtimeSettings({ symbols: DEMO_MARKETS.map((m) => m.symbol) });
const catalogue = new RealtimeCatalogue(DEMO_EVENTS);
const valid = (event: string, payload: unknown) =>
  checkEventPayload(catalogue.definition(event)!, payload, settings);

function apply(book: Map<string, string>, levels: Array<[string, string]>): void {
  for (const [price, quantity] of levels) {
    if (quantity === '0') book.delete(price);
    else book.set(price, quantity);
  }
}

describe('SimulatedMarket', () => {
  it.each(DEMO_MARKETS.map((spec) => [spec.symbol, spec] as const))(
    '%s publishes an order book whose updates rebuild its snapshots, never crossed',
    (_symbol, spec) => {
      const market = new SimulatedMarket(spec, seeded(7));
      const first = market.snapshot(0);
      expect(valid('orderbook.snapshot', first)).toBeNull();
      const bids = new Map(first.bids);
      const asks = new Map(first.asks);
      let lastUpdateId = first.lastUpdateId;
      for (let i = 0; i < 500; i++) {
        market.walk();
        const update = market.bookUpdate(i);
        expect(valid('orderbook.update', update)).toBeNull();
        expect(update.firstUpdateId).toBe(lastUpdateId + 1);
        lastUpdateId = update.lastUpdateId;
        apply(bids, update.bids);
        apply(asks, update.asks);
        const bestBid = Math.max(...[...bids.keys()].map(Number));
        const bestAsk = Math.min(...[...asks.keys()].map(Number));
        expect(bestBid).toBeLessThan(bestAsk);
      }
      const latest = market.snapshot(1);
      expect(latest.lastUpdateId).toBe(lastUpdateId);
      expect(new Map(latest.bids)).toEqual(bids);
      expect(new Map(latest.asks)).toEqual(asks);
    },
  );

  it('publishes valid tickers, trades and one-minute klines that close at the minute', () => {
    const market = new SimulatedMarket(DEMO_MARKETS[0]!, seeded(3));
    const start = 1_700_000_040_000;
    const first = market.trade(start);
    expect(valid('trade', first.trade)).toBeNull();
    expect(first.klines).toHaveLength(1);
    expect(valid('kline.update', first.klines[0])).toBeNull();
    expect(first.klines[0]).toMatchObject({
      interval: '1m',
      closed: false,
      close: first.trade.price,
    });
    const next = market.trade(start + 60_000);
    expect(next.klines.map((k) => k.closed)).toEqual([true, false]);
    expect(next.klines[1]!.openTime).toBe(next.klines[0]!.openTime! + 60_000);
    expect(valid('ticker.update', market.ticker(start))).toBeNull();
  });

  it('publishes valid funding rates within the cap, due at the next 8-hour mark', () => {
    const market = new SimulatedMarket(DEMO_MARKETS[1]!, seeded(5));
    const start = Date.UTC(2026, 0, 1, 7, 59, 0);
    const rates = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      if (i % 5 === 0) market.trade(start + i);
      market.walk();
      const funding = market.funding(start + i * 1000);
      expect(valid('funding.rate', funding)).toBeNull();
      expect(Math.abs(Number(funding.rate))).toBeLessThanOrEqual(0.0075);
      expect(funding.rate).not.toMatch(/^-0\.0+$/);
      rates.add(funding.rate);
    }
    expect(rates.size).toBeGreaterThan(100);
    expect(market.funding(start).nextFundingTime).toBe(Date.UTC(2026, 0, 1, 8));
    expect(market.funding(Date.UTC(2026, 0, 1, 8)).nextFundingTime).toBe(Date.UTC(2026, 0, 1, 16));
  });
});
