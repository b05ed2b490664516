import { describe, expect, it } from '@jest/globals';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import { broadcastEvent, symbolEvent, symbolKeyEvent, userEvent } from './custom-events.js';
import type { CustomEventPayloads } from './custom-events.js';
import { EVENT_CATALOGUE } from './event-catalogue.js';
import { optional, required } from './payload-schema.js';
import { RealtimeCatalogue } from './realtime-catalogue.js';

const fundingRate = symbolEvent('funding.rate', {
  channel: 'funding',
  schema: { rate: required('decimal'), nextFundingTime: optional('integer') },
  replayLast: true,
});
const fundingCountdown = symbolEvent('funding.countdown', { channel: 'funding' });
const priceUpdate = symbolKeyEvent('price.update', {
  channel: 'prices',
  key: 'chain',
  values: ['1', '137'],
  schema: { price: required('decimal') },
  conflatable: true,
});
const portfolio = userEvent('portfolio.update', {
  channel: 'user.portfolio',
  schema: { equity: required('decimal') },
});
const news = broadcastEvent('news', { schema: { headline: required('string') } });

const failure = (build: () => unknown): string => {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(RealtimeOptionsError);
    return (error as Error).message;
  }
  throw new Error('expected a RealtimeOptionsError');
};

describe('RealtimeCatalogue', () => {
  it('holds every built-in event and channel unchanged when nothing is added', () => {
    const catalogue = new RealtimeCatalogue();
    expect([...catalogue.events()]).toEqual([...EVENT_CATALOGUE.values()]);
    expect(catalogue.publicChannels().map((c) => c.name)).toEqual([
      'ticker',
      'orderbook',
      'trades',
      'klines',
    ]);
    expect(catalogue.channel('klines')?.key).toMatchObject({ field: 'interval' });
    expect(catalogue.privateChannels().map((c) => c.name)).toEqual([
      'user.orders',
      'user.trades',
      'user.balances',
      'user.deposits',
      'user.positions',
    ]);
  });

  it('merges host events of each routing kind into channels of their own', () => {
    const catalogue = new RealtimeCatalogue([
      fundingRate,
      fundingCountdown,
      priceUpdate,
      portfolio,
      news,
    ]);
    expect(catalogue.definition('funding.rate')).toBe(fundingRate);
    expect(catalogue.channel('funding')).toMatchObject({
      routing: 'symbol',
      private: false,
      builtIn: false,
      events: [fundingRate, fundingCountdown],
    });
    expect(catalogue.channel('prices')?.key).toEqual({ field: 'chain', values: ['1', '137'] });
    expect(catalogue.channel('user.portfolio')).toMatchObject({ routing: 'user', private: true });
    expect(catalogue.channel('system')?.events.map((e) => e.event)).toEqual([
      'system.alert',
      'news',
    ]);
    // The helpers add the routing fields to the schema.
    expect(fundingRate.schema.symbol).toEqual(required('symbol'));
    expect(priceUpdate.schema.chain).toEqual(required('id'));
    expect(portfolio.schema.userId).toEqual(required('id'));
  });

  it('infers each host payload type from its schema', () => {
    type Payloads = CustomEventPayloads<[typeof fundingRate, typeof priceUpdate, typeof portfolio]>;
    const rate: Payloads['funding.rate'] = { symbol: 'BTCUSDT', rate: '0.0001', extra: 1 };
    const price: Payloads['price.update'] = { symbol: 'ETH', chain: '1', price: '3000' };
    const equity: Payloads['portfolio.update'] = { userId: 42, equity: '10' };
    // @ts-expect-error rate is required
    const missing: Payloads['funding.rate'] = { symbol: 'BTCUSDT' };
    expect([rate, price, equity, missing]).toHaveLength(4);
  });

  it('refuses clashes with built-ins and with each other, naming the definition', () => {
    expect(failure(() => new RealtimeCatalogue([symbolEvent('trade', { channel: 'x' })]))).toBe(
      'RealtimeModule option events[0] defines event "trade", which is built in',
    );
    expect(failure(() => new RealtimeCatalogue([fundingRate, fundingRate]))).toBe(
      'RealtimeModule option events[1] defines event "funding.rate", which is already defined',
    );
    expect(
      failure(() => new RealtimeCatalogue([symbolEvent('my.trade', { channel: 'trades' })])),
    ).toBe(
      'RealtimeModule option events[0] uses channel "trades", which is built in; choose another name',
    );
    expect(
      failure(
        () =>
          new RealtimeCatalogue([
            fundingRate,
            symbolKeyEvent('funding.other', { channel: 'funding', key: 'venue' }),
          ]),
      ),
    ).toMatch(
      /events\[1\] uses channel "funding" with symbolKey routing, but its other events use symbol/,
    );
  });

  it('refuses bad names and shapes with the field that is wrong', () => {
    expect(
      failure(() => new RealtimeCatalogue([symbolEvent('Funding Rate', { channel: 'f' })])),
    ).toMatch(/^RealtimeModule option events\[0\]\.event must be a lower-case dotted name/);
    expect(
      failure(() => new RealtimeCatalogue([symbolEvent('subscribed', { channel: 'f' })])),
    ).toMatch(/events\[0\]\.event "subscribed" is a protocol message name/);
    expect(
      failure(() => new RealtimeCatalogue([symbolEvent('a.b', { channel: 'ticker:x' })])),
    ).toMatch(/events\[0\]\.channel must be a lower-case name/);
    expect(
      failure(() => new RealtimeCatalogue([symbolEvent('a.b', { channel: 'user.x' })])),
    ).toMatch(/events\[0\]\.channel "user\." channels are private/);
    expect(
      failure(
        () => new RealtimeCatalogue([symbolKeyEvent('a.b', { channel: 'c', key: 'symbol' })]),
      ),
    ).toMatch(/events\[0\]\.key must be a field name/);
    expect(
      failure(
        () =>
          new RealtimeCatalogue(
            [{ ...news, routing: 'nowhere' } as never],
            'CATALOGUE_FILE x.json',
          ),
      ),
    ).toMatch(/^RealtimeModule option CATALOGUE_FILE x\.json\[0\]\.routing must be/);
  });
});
