import {
  broadcastEvent,
  optional,
  required,
  symbolEvent,
  symbolKeyEvent,
  userEvent,
  type CataloguePayloads,
} from '#realtime';

/** A host app's own events, one of each routing kind, as the e2e tests of the open catalogue use them. */
export const fundingRate = symbolEvent('funding.rate', {
  channel: 'funding',
  schema: { rate: required('decimal'), nextFundingTime: optional('integer') },
  replayLast: true,
  description: 'The funding rate of a perpetual contract',
});
export const priceUpdate = symbolKeyEvent('price.update', {
  channel: 'prices',
  key: 'chain',
  values: ['1', '137'],
  schema: { price: required('decimal') },
  conflatable: true,
});
export const portfolioUpdate = userEvent('portfolio.update', {
  channel: 'user.portfolio',
  schema: { equity: required('decimal') },
});
export const news = broadcastEvent('news', { schema: { headline: required('string') } });

export const HOST_EVENTS = [fundingRate, priceUpdate, portfolioUpdate, news] as const;
export type HostPayloads = CataloguePayloads<typeof HOST_EVENTS>;
