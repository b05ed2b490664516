import { optional, required, requestMethod } from '#realtime';
import { DemoOrderDesk } from './demo-order-desk.js';
import { MarketAssistant } from './market-assistant.js';
import { MarketCandles } from './market-candles.js';
import { ServerTime } from './server-time.js';

/**
 * The backend methods the demo page calls over its live connection (the `request`
 * command), answered in process by the demo's own providers.
 */
export const DEMO_METHODS = [
  requestMethod({
    method: 'order.place',
    params: {
      symbol: required('symbol'),
      side: required('side'),
      type: required('string'),
      price: optional('decimal'),
      quantity: required('decimal'),
    },
    user: 'required',
    rate: { perSecond: 5 },
    timeoutMs: 5000,
    backend: { provider: DemoOrderDesk },
    description: 'Places a limit or market order of the signed-in user on the simulated exchange',
  }),
  requestMethod({
    method: 'order.cancel',
    params: { orderId: required('id') },
    user: 'required',
    rate: { perSecond: 5 },
    timeoutMs: 5000,
    backend: { provider: DemoOrderDesk },
    description: "Cancels one of the signed-in user's open orders",
  }),
  requestMethod({
    method: 'assistant.ask',
    params: { question: required('string') },
    user: 'optional',
    rate: { perSecond: 2 },
    timeoutMs: 2000,
    backend: { provider: MarketAssistant },
    description: 'A rule-based answer about a market: last price, 24h change, spread',
  }),
  requestMethod({
    method: 'market.candles',
    params: {
      symbol: required('symbol'),
      interval: required('interval'),
      limit: optional('integer'),
    },
    user: 'optional',
    rate: { perSecond: 2, burst: 6 },
    timeoutMs: 2000,
    backend: { provider: MarketCandles },
    description: "A market's closed candles, oldest first (1m, up to 500): a chart's history",
  }),
  requestMethod({
    method: 'market.time',
    user: 'optional',
    rate: { perSecond: 2 },
    timeoutMs: 2000,
    backend: { provider: ServerTime },
    description: "The server's clock; the page times the round trip as its latency",
  }),
] as const;
