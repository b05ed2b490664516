import { beforeAll, describe, expect, it } from '@jest/globals';
import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import { envelope } from '../broadcast/envelope.js';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { RealtimeErrorCode, RealtimeException } from '../errors/index.js';
import { broadcastEvent, symbolEvent, symbolKeyEvent, userEvent } from '../events/custom-events.js';
import { optional, required } from '../events/payload-schema.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { SubscriptionParser } from '../gateway/subscription-parser.js';
import { readRequestCommand } from '../requests/request-command.js';
import { asyncApiDocument, asyncApiServer } from './asyncapi-document.js';

const HOST_EVENTS = [
  symbolEvent('funding.rate', {
    channel: 'funding',
    schema: { rate: required('decimal'), nextFundingTime: optional('integer') },
    replayLast: true,
    description: 'The funding rate of a perpetual contract',
  }),
  symbolKeyEvent('price.update', {
    channel: 'prices',
    key: 'chain',
    values: ['1', '137'],
    schema: { price: required('decimal') },
    conflatable: true,
  }),
  symbolKeyEvent('venue.depth', { channel: 'venues', key: 'venue' }),
  userEvent('portfolio.update', {
    channel: 'user.portfolio',
    schema: { equity: required('decimal') },
  }),
  broadcastEvent('news', { schema: { headline: required('string') } }),
];
const catalogue = new RealtimeCatalogue(HOST_EVENTS);
const generated = asyncApiDocument(catalogue, { serverUrl: 'https://gateway.example.com' });
// Parsed schemas carry the parser's own `x-parser-*` keywords: not strict about unknown ones.
const ajv = new Ajv({ strict: false });

async function parsed(input: unknown): Promise<AsyncAPIDocumentInterface> {
  const { document, diagnostics } = await new Parser().parse(input as never);
  const problems = diagnostics
    .filter(
      (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
    )
    .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
  expect(problems).toEqual([]);
  expect(document).toBeDefined();
  return document!;
}

function payloadCheck(document: AsyncAPIDocumentInterface, name: string) {
  const message = document.components().messages().get(name);
  if (!message) throw new Error(`no message ${name}`);
  return ajv.compile(message.payload()!.json() as object);
}

/** One real payload of each event, as an upstream service would publish it. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'ticker.update': { symbol: 'BTCUSDT', lastPrice: '65000.5', volume: '12.5', timestamp: 1 },
  'tickers.update': { tickers: [{ symbol: 'BTCUSDT', lastPrice: '65000.5' }], timestamp: 2 },
  'orderbook.snapshot': {
    symbol: 'BTCUSDT',
    lastUpdateId: 10,
    bids: [['65000.5', '1.25']],
    asks: [['65001', '0.5']],
    checksum: 4011224556,
  },
  'orderbook.update': {
    symbol: 'BTCUSDT',
    firstUpdateId: 11,
    lastUpdateId: 12,
    bids: [['65000.5', '0']],
    asks: [],
    checksum: 0,
  },
  trade: { symbol: 'BTCUSDT', tradeId: 991, price: '65000.5', quantity: '0.0120', side: 'buy' },
  'kline.update': { symbol: 'BTCUSDT', interval: '1m', open: '1', close: '2', closed: false },
  'order.created': { userId: 'u-1', orderId: 'o-1', side: 'sell', price: '10', quantity: '1' },
  'order.filled': { userId: 7, orderId: 8, filledQuantity: '1' },
  'order.cancelled': { userId: 'u-1', orderId: 'o-1', status: 'cancelled' },
  'order.expired': { userId: 'u-1' },
  'trade.executed': { userId: 'u-1', tradeId: 't-1', fee: '0.01', feeAsset: 'USDT' },
  'balance.updated': { userId: 'u-1', asset: 'USDT', free: '100', locked: '0' },
  'balance.locked': { userId: 'u-1', asset: 'USDT', locked: '5' },
  'balance.unlocked': { userId: 'u-1', asset: 'USDT', free: '5' },
  'deposit.detected': { userId: 'u-1', depositId: 'd-1', amount: '1', confirmations: 0 },
  'deposit.confirmed': { userId: 'u-1', depositId: 'd-1', requiredConfirmations: 12 },
  'deposit.credited': { userId: 'u-1', depositId: 'd-1', txId: '0xabc' },
  'position.update': { userId: 'u-1', symbol: 'BTC-PERP', size: '-0.5', markPrice: '65000' },
  'position.liquidated': { userId: 'u-1', symbol: 'BTC-PERP', liquidationPrice: '60000' },
  'margin.call': { userId: 'u-1', marginRatio: '0.95' },
  'system.alert': { message: 'maintenance at 02:00', level: 'info' },
  'funding.rate': { symbol: 'BTC-PERP', rate: '0.0001', nextFundingTime: 3 },
  'price.update': { symbol: 'ETHUSDT', chain: '137', price: '3000.25' },
  'venue.depth': { symbol: 'ETHUSDT', venue: 'venue_1' },
  'portfolio.update': { userId: 'u-1', equity: '1000' },
  news: { headline: 'New listing' },
};

/** The envelope the gateway would send for an example, built by the gateway's own function. */
function delivered(event: string, data: Record<string, unknown>, replay?: true) {
  const definition = catalogue.definition(event)!;
  const symbol =
    definition.routing === 'allSymbols'
      ? 'all'
      : definition.routing === 'symbol' || definition.routing === 'symbolKey'
        ? (data.symbol as string)
        : undefined;
  const key = definition.key ? String(data[definition.key.field]) : undefined;
  return JSON.parse(
    JSON.stringify(
      envelope(definition, symbol, key, 5, 'lq3xk2a9f0c1', 1_700_000_000_000, data, replay),
    ),
  );
}

describe('asyncApiDocument', () => {
  let document: AsyncAPIDocumentInterface;

  // Parsing takes seconds (the parser lints with Spectral): once for the whole suite.
  beforeAll(async () => {
    document = await parsed(generated);
  });

  it('is a valid AsyncAPI 3.0 document, without errors or warnings', () => {
    expect(document.version()).toBe('3.0.0');
  });

  it('has a message for every event of the merged catalogue, in the channel it arrives on', () => {
    const events = [...catalogue.events()];
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(HOST_EVENTS.map((e) => e.event)),
    );
    for (const { event, channel } of events) {
      const message = document.components().messages().get(event);
      expect([event, message?.name()]).toEqual([event, event]);
      const carriers = document
        .channels()
        .all()
        .filter((c) =>
          c
            .messages()
            .all()
            .some((m) => m.id() === event),
        );
      expect([event, carriers.map((c) => (c.json() as { title: string }).title)]).toEqual([
        event,
        [channel],
      ]);
      const receivers = document
        .operations()
        .all()
        .filter(
          (o) =>
            o.isReceive() &&
            o
              .messages()
              .all()
              .some((m) => m.id() === event),
        );
      expect([event, receivers.length]).toEqual([event, 1]);
    }
    expect(Object.keys(EXAMPLES).sort()).toEqual(events.map((e) => e.event).sort());
  });

  it('addresses each channel by its room pattern, with the key values as an enum', () => {
    const address = (id: string) => document.channels().get(id)?.address();
    expect(address('trades')).toBe('trades:{symbol}');
    expect(address('klines')).toBe('klines:{symbol}:{interval}');
    expect(address('tickerAll')).toBe('ticker:all');
    expect(address('user.orders')).toBe('user:{userId}:orders');
    expect(address('funding')).toBe('funding:{symbol}');
    expect(address('prices')).toBe('prices:{symbol}:{chain}');
    expect(address('user.portfolio')).toBe('user:{userId}:portfolio');
    expect(address('system')).toBeNull();
    const parameter = (channel: string, name: string) =>
      document.channels().get(channel)!.parameters().get(name)!.json() as { enum?: string[] };
    expect(parameter('prices', 'chain').enum).toEqual(['1', '137']);
    expect(parameter('klines', 'interval').enum).toContain('1M');
    expect(parameter('venues', 'venue').enum).toBeUndefined();
    const system = document.channels().get('system')!;
    expect(
      system
        .messages()
        .all()
        .map((m) => m.id()),
    ).toEqual(['system.alert', 'news']);
  });

  it('accepts the envelopes the gateway builds from real payloads, and refuses broken ones', () => {
    for (const [event, data] of Object.entries(EXAMPLES)) {
      const check = payloadCheck(document, event);
      const live = delivered(event, data);
      expect([event, check(live), check.errors]).toEqual([event, true, null]);
      expect([event, check(delivered(event, data, true))]).toEqual([event, true]);
      expect([event, check({ ...live, data: [] })]).toEqual([event, false]);
      expect([event, check({ ...live, offset: -1 })]).toEqual([event, false]);
    }
    const trade = payloadCheck(document, 'trade');
    expect(trade(delivered('trade', { symbol: 'BTCUSDT', price: 65000.5 }))).toBe(false);
    const prices = payloadCheck(document, 'price.update');
    expect(prices(delivered('price.update', { symbol: 'ETHUSDT', chain: '2', price: '1' }))).toBe(
      false,
    );
    const book = payloadCheck(document, 'orderbook.snapshot');
    const unsummed = { ...EXAMPLES['orderbook.snapshot'] };
    delete unsummed.checksum;
    expect(book(delivered('orderbook.snapshot', unsummed))).toBe(false);
  });

  it('lets fields the catalogue does not name pass through, in data and in the envelope', () => {
    for (const message of document.components().messages().all()) {
      const payload = message.payload()!.json() as Record<string, any>;
      if (!catalogue.definition(message.id())) continue;
      expect([
        message.id(),
        payload.additionalProperties,
        payload.properties.data.additionalProperties,
      ]).toEqual([message.id(), true, true]);
    }
    const check = payloadCheck(document, 'funding.rate');
    const data = { ...EXAMPLES['funding.rate'], venue: 'x', nested: { deep: [1, { a: null }] } };
    expect(check(delivered('funding.rate', data))).toBe(true);
  });

  it('describes the commands as the gateway parses them, with their answers', () => {
    const settings = new RealtimeSettings();
    const parser = new SubscriptionParser(settings, catalogue);
    const subscribe = payloadCheck(document, 'subscribe');
    const bodies: unknown[] = [
      { channel: 'trades', symbol: 'btcusdt' },
      { channel: 'ticker', symbol: 'all' },
      { channel: 'klines', symbol: 'BTCUSDT', interval: '1m' },
      { channel: 'klines', symbol: 'BTCUSDT', interval: '2m' },
      { channel: 'klines', symbol: 'BTCUSDT' },
      { channel: 'trades', symbol: 'BTCUSDT', interval: '1m' },
      { channel: 'prices', symbol: 'ETHUSDT', chain: '137' },
      { channel: 'prices', symbol: 'ETHUSDT', chain: '2' },
      { channel: 'prices', symbol: 'ETHUSDT', interval: '1m' },
      { channel: 'venues', symbol: 'ETHUSDT', venue: 'v.1' },
      { channel: 'venues', symbol: 'ETHUSDT', venue: 'bad venue' },
      { channel: 'funding', symbol: 'BTC-PERP' },
      { channel: 'funding', symbol: 'X'.repeat(65) },
      { channel: 'user.orders' },
      { channel: 'nope', symbol: 'BTCUSDT' },
      { channel: 'trades', symbol: 'BTCUSDT', extra: 1 },
      { channel: 'trades' },
      { channel: 'trades', symbol: 'BTCUSDT', since: { offset: 7, epoch: 'mx6ckaso84d23e6c' } },
      { channel: 'trades', symbol: 'BTCUSDT', since: { offset: -1, epoch: 'e' } },
      { channel: 'trades', symbol: 'BTCUSDT', since: { offset: 1 } },
      { channel: 'trades', symbol: 'BTCUSDT', since: { offset: 1, epoch: 'has space' } },
      { channel: 'trades', symbol: 'BTCUSDT', since: { offset: 1, epoch: 'e', seq: 1 } },
      [],
      'trades',
    ];
    const parserAccepts = (body: unknown) => {
      try {
        parser.market(body, true);
        return true;
      } catch (error) {
        if (error instanceof RealtimeException) return false;
        throw error;
      }
    };
    for (const body of bodies) expect([body, subscribe(body)]).toEqual([body, parserAccepts(body)]);

    const subscribed = payloadCheck(document, 'subscribed');
    for (const body of bodies.filter(parserAccepts)) {
      expect(subscribed({ ok: true, ...parser.market(body, true).named })).toBe(true);
    }
    expect(subscribed({ ok: true, channel: 'user.portfolio' })).toBe(true);
    const position = { offset: 3, epoch: 'mx6ckaso84d23e6c' };
    expect(
      subscribed({
        ok: true,
        channel: 'user.portfolio',
        position,
        recovered: false,
        reason: 'too_old',
      }),
    ).toBe(true);
    expect(
      subscribed({ ok: true, channel: 'trades', symbol: 'BTCUSDT', position, recovered: true }),
    ).toBe(true);
    expect(subscribed({ ok: true, channel: 'user.portfolio', reason: 'lost' })).toBe(false);
    const privately = payloadCheck(document, 'subscribe.private');
    expect(privately({ channel: parser.user({ channel: 'user.portfolio' }).channel })).toBe(true);
    const since = { channel: 'user.portfolio', since: position };
    expect(privately(since)).toBe(true);
    expect(parser.user(since, true).since).toEqual(position);
    expect(privately({ channel: 'user.portfolio', userId: 'u-2' })).toBe(false);

    const operation = document.operations().get('send.subscribe')!;
    expect(operation.isSend()).toBe(true);
    expect(
      operation
        .reply()!
        .messages()
        .all()
        .map((m) => m.id()),
    ).toEqual(['subscribed', 'error']);
    const sends = document
      .operations()
      .all()
      .filter((o) => o.isSend())
      .map((o) => o.id());
    expect(sends).toEqual([
      'send.subscribe',
      'send.unsubscribe',
      'send.subscribe.private',
      'send.unsubscribe.private',
      'send.ping',
      'send.auth.refresh',
      'send.request',
    ]);
  });

  it('describes the request command as the relay reads it, and its answers', () => {
    const request = payloadCheck(document, 'request');
    const bodies: unknown[] = [
      { method: 'order.place', params: { symbol: 'BTCUSDT' }, requestId: 'r-1' },
      { method: 'order.place' },
      { method: 'order.place', requestId: 'has space' },
      { method: 'order.place', requestId: 'x'.repeat(65) },
      { method: 'order.place', params: [] },
      { params: {} },
      'order.place',
    ];
    const relayAccepts = (body: unknown) => {
      try {
        readRequestCommand(body);
        return true;
      } catch (error) {
        if (error instanceof RealtimeException) return false;
        throw error;
      }
    };
    for (const body of bodies) expect([body, request(body)]).toEqual([body, relayAccepts(body)]);
    const response = payloadCheck(document, 'response');
    expect(response({ ok: true, method: 'order.place', requestId: 'r-1', result: { id: 1 } })).toBe(
      true,
    );
    expect(response({ ok: true, method: 'order.place', requestId: 'r-1' })).toBe(false);
    const error = payloadCheck(document, 'error');
    const refusal = (command: string, code: string) => ({
      ok: false,
      command,
      method: 'order.place',
      requestId: 'r-1',
      error: { code, message: 'no' },
    });
    expect(error(refusal('request', 'INSUFFICIENT_FUNDS'))).toBe(true);
    expect(error(refusal('request', 'not a code'))).toBe(false);
    expect(error(refusal('subscribe', 'INSUFFICIENT_FUNDS'))).toBe(false);
  });

  it('lists every error code in the error reply', () => {
    const error = payloadCheck(document, 'error');
    const reply = (code: string) => ({
      ok: false,
      command: 'subscribe',
      error: { code, message: 'x' },
    });
    for (const code of Object.values(RealtimeErrorCode))
      expect([code, error(reply(code))]).toEqual([code, true]);
    expect(error(reply('NOT_A_CODE'))).toBe(false);
    expect(document.components().schemas().get('ErrorCode')!.enum()).toEqual(
      Object.values(RealtimeErrorCode),
    );
  });

  it('is the same document for the same catalogue', () => {
    const again = asyncApiDocument(new RealtimeCatalogue(HOST_EVENTS), {
      serverUrl: 'https://gateway.example.com',
    });
    expect(JSON.stringify(again)).toBe(JSON.stringify(generated));
  });

  it('names the server clients connect to, or none', () => {
    expect(asyncApiDocument(catalogue).servers).toBeUndefined();
    expect(asyncApiServer('https://gateway.example.com:8443', '/live')).toMatchObject({
      host: 'gateway.example.com:8443',
      protocol: 'wss',
      pathname: '/live',
    });
    expect(asyncApiServer('http://127.0.0.1:3000').protocol).toBe('ws');
    expect(() => asyncApiServer('ftp://example.com')).toThrow(
      'serverUrl must be an http(s) or ws(s) URL, got "ftp://example.com"',
    );
    expect(() => asyncApiServer('not a url')).toThrow(TypeError);
  });
});
