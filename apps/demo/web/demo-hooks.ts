import { realtimeHooks } from '../../../libs/client/src/react/index.js';
import type { DemoPayloads } from '../src/simulator/demo-events.js';
import { DEMO_MARKETS, type MarketSpec } from '../src/simulator/simulated-market.js';

/** The SDK's hooks, typed by the demo's catalogue: the built-in events and its own. */
export const { RealtimeProvider, useChannel, useOrderBook, useRealtime, useRecovery, useRequest } =
  realtimeHooks<DemoPayloads>();

/** A demo market's tick and decimals (the simulator's own table), by symbol. */
export function marketSpec(symbol: string): MarketSpec {
  return DEMO_MARKETS.find((market) => market.symbol === symbol) ?? DEMO_MARKETS[0]!;
}

/** The page's palette, shared by the CSS (index.html) and the canvas charts. */
export const COLORS = {
  background: '#161a1e',
  grid: '#22272e',
  text: '#b7bdc6',
  up: '#0ecb81',
  down: '#f6465d',
  upFill: 'rgba(14, 203, 129, 0.28)',
  downFill: 'rgba(246, 70, 93, 0.28)',
} as const;
