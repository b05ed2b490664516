import { requiredList, required, symbolEvent, userEvent, type CataloguePayloads } from '#realtime';

/** Most positions one portfolio update lists: one per demo market, with room to spare. */
export const MAX_PORTFOLIO_POSITIONS = 20;

/** The perpetual funding rate of a demo market; a new subscriber gets the current one at once. */
export const fundingRate = symbolEvent('funding.rate', {
  channel: 'funding',
  schema: {
    rate: required('decimal'),
    /** When the rate is next charged, ms since the epoch (every 8 hours, as on most venues). */
    nextFundingTime: required('integer'),
    timestamp: required('integer'),
  },
  replayLast: true,
  description: 'The funding rate of a demo perpetual, every few seconds',
});

/** A demo user's portfolio: cash, positions marked to the last price, and what it all is worth. */
export const portfolioUpdate = userEvent('portfolio.update', {
  channel: 'user.portfolio',
  schema: {
    cash: required('decimal'),
    equity: required('decimal'),
    unrealizedPnl: required('decimal'),
    positions: requiredList(
      {
        symbol: required('symbol'),
        size: required('decimal'),
        entryPrice: required('decimal'),
        markPrice: required('decimal'),
        unrealizedPnl: required('decimal'),
      },
      MAX_PORTFOLIO_POSITIONS,
    ),
    timestamp: required('integer'),
  },
  description: "A demo user's portfolio, whenever a fill changes a balance or a position",
});

/** The demo's own events, beside the built-in ones: passed to RealtimeModule.forRoot. */
export const DEMO_EVENTS = [fundingRate, portfolioUpdate] as const;

/** Every payload the demo emits and its page receives, built-in and its own, by event name. */
export type DemoPayloads = CataloguePayloads<typeof DEMO_EVENTS>;
