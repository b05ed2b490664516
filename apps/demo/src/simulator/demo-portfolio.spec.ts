import { describe, expect, it } from '@jest/globals';
import { RealtimeCatalogue, RealtimeSettings, checkEventPayload } from '#realtime/internal';
import { DEMO_EVENTS } from './demo-events.js';
import { DemoPortfolio } from './demo-portfolio.js';
import { DEMO_MARKETS } from './simulated-market.js';

const settings = new RealtimeSettings({ symbols: DEMO_MARKETS.map((m) => m.symbol) });
const portfolioUpdate = new RealtimeCatalogue(DEMO_EVENTS).definition('portfolio.update')!;

describe('DemoPortfolio', () => {
  it('averages the entry while a position grows, keeps it while it shrinks, restarts it through zero', () => {
    const portfolio = new DemoPortfolio(10_000);
    expect(portfolio.fill('BTCUSDT', 'buy', 100, '1.000')).toEqual({
      milli: 1000,
      entryPrice: 100,
    });
    expect(portfolio.fill('BTCUSDT', 'buy', 130, '0.500')).toEqual({
      milli: 1500,
      entryPrice: 110,
    });
    expect(portfolio.fill('BTCUSDT', 'sell', 200, '0.500')).toEqual({
      milli: 1000,
      entryPrice: 110,
    });
    expect(portfolio.fill('BTCUSDT', 'sell', 90, '1.250')).toEqual({ milli: -250, entryPrice: 90 });
    expect(portfolio.fill('BTCUSDT', 'buy', 80, '0.250')).toEqual({ milli: 0, entryPrice: 0 });
    // -100 -65 +100 +112.5 -20
    expect(portfolio.cash).toBeCloseTo(10_027.5, 9);
  });

  it('marks positions to the given prices, equity = cash + what the positions are worth', () => {
    const portfolio = new DemoPortfolio(1_000);
    portfolio.fill('BTCUSDT', 'buy', 100, '2.000');
    portfolio.fill('ETHUSDT', 'sell', 50, '1.000');
    portfolio.fill('SOLUSDT', 'buy', 10, '1.000');
    portfolio.fill('SOLUSDT', 'sell', 12, '1.000');
    const marks: Record<string, number> = { BTCUSDT: 110, ETHUSDT: 40 };
    const snapshot = portfolio.snapshot('alice', (symbol) => marks[symbol]!, 1_700_000_000_000);
    expect(snapshot).toEqual({
      userId: 'alice',
      // 1000 - 200 + 50 - 10 + 12
      cash: '852.00',
      // 852 + 2 * 110 - 1 * 40
      equity: '1032.00',
      // 2 * 10 + (-1) * (-10)
      unrealizedPnl: '30.00',
      positions: [
        {
          symbol: 'BTCUSDT',
          size: '2.000',
          entryPrice: '100.00',
          markPrice: '110.00',
          unrealizedPnl: '20.00',
        },
        {
          symbol: 'ETHUSDT',
          size: '-1.000',
          entryPrice: '50.00',
          markPrice: '40.00',
          unrealizedPnl: '10.00',
        },
      ],
      timestamp: 1_700_000_000_000,
    });
    expect(checkEventPayload(portfolioUpdate, snapshot, settings)).toBeNull();
  });

  it('never writes a negative zero', () => {
    const portfolio = new DemoPortfolio(0.001);
    portfolio.fill('SOLUSDT', 'buy', 0.004, '1.000');
    const { cash, equity } = portfolio.snapshot('bob', () => 0.004, 0);
    expect([cash, equity]).toEqual(['0.00', '0.00']);
  });
});
