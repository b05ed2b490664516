import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RealtimeEvent, RejectedEventLog } from '#realtime/internal';
import { GatewayHarness, Recorder, command, roundTrip } from './support/gateway-harness.js';
import { echoOf } from './support/answer-echo.js';

const ticker = (symbol: string, i: number) => ({
  symbol,
  lastPrice: `${100 + i}.5`,
  volume: '12.25',
  timestamp: 1_700_000_000_000 + i,
  venueSpecific: { note: 'passes through untouched', i },
});
const snapshot = (symbol: string, lastUpdateId: number) => ({
  symbol,
  lastUpdateId,
  bids: [['100.1', '2']],
  asks: [['100.2', '3']],
});
const update = (symbol: string, id: number) => ({
  symbol,
  firstUpdateId: id,
  lastUpdateId: id,
  bids: [['100.1', '0']],
  asks: [['100.3', '1.5']],
});
const trade = (symbol: string, i: number) => ({
  symbol,
  tradeId: i,
  price: '100.25',
  quantity: '0.5',
  side: i % 2 ? 'buy' : 'sell',
  timestamp: 1_700_000_000_000 + i,
});
const kline = (symbol: string, interval: string, i: number) => ({
  symbol,
  interval,
  openTime: 1_700_000_000_000,
  open: '100',
  high: `${101 + i}`,
  low: '99',
  close: '100.5',
  volume: `${i}`,
  closed: false,
});

describe('public market channels (gateway e2e)', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ allTickersIntervalMs: 100 });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('greets each connection with its id, no user and the server time', async () => {
    const before = Date.now();
    const socket = await gateway.connect();
    const greeting = gateway.greeting(socket);
    expect(greeting).toEqual({
      connectionId: expect.any(String),
      userId: null,
      serverTime: expect.any(Number),
    });
    expect(greeting.connectionId).toBe(socket.id);
    expect(greeting.serverTime).toBeGreaterThanOrEqual(before);
    expect(greeting.serverTime).toBeLessThanOrEqual(Date.now());
  });

  it('delivers every public channel in the envelope with gap-free offset', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket);
    const subscriptions = [
      { channel: 'ticker', symbol: 'BTCUSDT' },
      { channel: 'ticker', symbol: 'all' },
      { channel: 'orderbook', symbol: 'BTCUSDT' },
      { channel: 'trades', symbol: 'BTCUSDT' },
      { channel: 'klines', symbol: 'BTCUSDT', interval: '1m' },
    ];
    for (const subscription of subscriptions) {
      expect(await command(socket, 'subscribe', subscription)).toEqual({
        ok: true,
        ...subscription,
        position: { offset: 0, epoch: expect.any(String) },
      });
    }

    const rounds = 25;
    const sent: Record<string, unknown[]> = {};
    const emit = (event: string, data: unknown) => {
      (sent[event] ??= []).push(data);
      gateway.emitter.emit(event, data);
    };
    emit(RealtimeEvent.OrderBookSnapshot, snapshot('BTCUSDT', 10));
    for (let i = 0; i < rounds; i++) {
      emit(RealtimeEvent.TickerUpdate, ticker('BTCUSDT', i));
      emit(RealtimeEvent.OrderBookUpdate, update('BTCUSDT', 11 + i));
      emit(RealtimeEvent.Trade, trade('BTCUSDT', i));
      emit(RealtimeEvent.KlineUpdate, kline('BTCUSDT', '1m', i));
    }
    await roundTrip(socket);

    const expectEnvelopes = (event: string, fields: Record<string, unknown>, seqs: number[]) => {
      const received = recorder.payloads(event);
      expect(received).toEqual(
        sent[event]!.map((data, i) => ({
          ...fields,
          event,
          offset: seqs[i],
          epoch: expect.any(String),
          ts: expect.any(Number),
          data,
        })),
      );
    };
    const range = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => from + i);
    expectEnvelopes('ticker.update', { channel: 'ticker', symbol: 'BTCUSDT' }, range(1, rounds));
    // ticker:all is built by the gateway: the latest ticker of every symbol, every 100 ms here.
    const [digest] = await recorder.waitFor('tickers.update', 1, 2000);
    expect(digest).toEqual({
      channel: 'ticker',
      event: 'tickers.update',
      symbol: 'all',
      offset: 1,
      epoch: expect.any(String),
      ts: expect.any(Number),
      data: { tickers: [ticker('BTCUSDT', rounds - 1)], timestamp: expect.any(Number) },
    });
    // Order-book events carry the gateway's checksum; snapshot and updates share one sequence.
    const withChecksum = (event: string) =>
      sent[event]!.map((data, i) => ({
        channel: 'orderbook',
        symbol: 'BTCUSDT',
        event,
        offset: event === 'orderbook.snapshot' ? 1 : i + 2,
        epoch: expect.any(String),
        ts: expect.any(Number),
        data: { ...(data as object), checksum: expect.any(Number) },
      }));
    expect(recorder.payloads('orderbook.snapshot')).toEqual(withChecksum('orderbook.snapshot'));
    expect(recorder.payloads('orderbook.update')).toEqual(withChecksum('orderbook.update'));
    expectEnvelopes('trade', { channel: 'trades', symbol: 'BTCUSDT' }, range(1, rounds));
    expectEnvelopes(
      'kline.update',
      { channel: 'klines', symbol: 'BTCUSDT', interval: '1m' },
      range(1, rounds),
    );
  });

  it('delivers system.alert to every connection without a subscription', async () => {
    const a = await gateway.connect();
    const b = await gateway.connect();
    const recorders = [new Recorder(a), new Recorder(b)];
    const alert = { message: 'Maintenance at 02:00 UTC', level: 'warning' };
    gateway.emitter.emit(RealtimeEvent.SystemAlert, alert);
    for (const recorder of recorders) {
      const [envelope] = await recorder.waitFor('system.alert');
      expect(envelope).toEqual({
        channel: 'system',
        event: 'system.alert',
        offset: expect.any(Number),
        epoch: expect.any(String),
        ts: expect.any(Number),
        data: alert,
      });
    }
  });

  it('stops delivery after unsubscribe', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade']);
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'SOLUSDT' });
    gateway.emitter.emit(RealtimeEvent.Trade, trade('SOLUSDT', 1));
    await recorder.waitFor('trade', 1);
    expect(await command(socket, 'unsubscribe', { channel: 'trades', symbol: 'solusdt' })).toEqual({
      ok: true,
      channel: 'trades',
      symbol: 'SOLUSDT',
    });
    gateway.emitter.emit(RealtimeEvent.Trade, trade('SOLUSDT', 2));
    await roundTrip(socket);
    expect(recorder.payloads('trade')).toHaveLength(1);
  });

  it('gives two clients on different symbols only their own events', async () => {
    const btc = await gateway.connect();
    const eth = await gateway.connect();
    const btcEvents = new Recorder(btc, ['trade', 'kline.update']);
    const ethEvents = new Recorder(eth, ['trade', 'kline.update']);
    await command(btc, 'subscribe', { channel: 'trades', symbol: 'TWOBTC' });
    await command(btc, 'subscribe', { channel: 'klines', symbol: 'TWOBTC', interval: '5m' });
    await command(eth, 'subscribe', { channel: 'trades', symbol: 'TWOETH' });
    await command(eth, 'subscribe', { channel: 'klines', symbol: 'TWOETH', interval: '5m' });
    for (let i = 0; i < 10; i++) {
      gateway.emitter.emit(RealtimeEvent.Trade, trade('TWOBTC', i));
      gateway.emitter.emit(RealtimeEvent.Trade, trade('TWOETH', i));
      gateway.emitter.emit(RealtimeEvent.KlineUpdate, kline('TWOETH', '5m', i));
      gateway.emitter.emit(RealtimeEvent.KlineUpdate, kline('TWOETH', '1M', i));
    }
    await roundTrip(btc);
    await roundTrip(eth);
    expect(btcEvents.payloads('trade').map((e) => e.data.symbol)).toEqual(Array(10).fill('TWOBTC'));
    expect(btcEvents.payloads('kline.update')).toEqual([]);
    expect(ethEvents.payloads('trade').map((e) => e.data.symbol)).toEqual(Array(10).fill('TWOETH'));
    expect(ethEvents.payloads('kline.update').map((e) => e.interval)).toEqual(Array(10).fill('5m'));
  });

  // Long enough to be refused by every field rule, short enough for one 16 KiB frame.
  const huge = 'X'.repeat(10_000);
  const invalidCommands: Array<[string, string, unknown[], string]> = [
    ['not an object', 'subscribe', ['BTCUSDT'], 'INVALID_PAYLOAD'],
    ['null', 'subscribe', [null], 'INVALID_PAYLOAD'],
    ['an array', 'subscribe', [[{ channel: 'ticker', symbol: 'BTCUSDT' }]], 'INVALID_PAYLOAD'],
    ['no payload', 'subscribe', [], 'INVALID_PAYLOAD'],
    [
      'two payloads',
      'subscribe',
      [{ channel: 'ticker' }, { symbol: 'BTCUSDT' }],
      'INVALID_PAYLOAD',
    ],
    ['missing channel', 'subscribe', [{ symbol: 'BTCUSDT' }], 'INVALID_PAYLOAD'],
    ['missing symbol', 'subscribe', [{ channel: 'ticker' }], 'INVALID_PAYLOAD'],
    [
      'unknown field',
      'subscribe',
      [{ channel: 'ticker', symbol: 'BTCUSDT', depth: 5 }],
      'INVALID_PAYLOAD',
    ],
    [
      'prototype key',
      'subscribe',
      [JSON.parse('{"channel":"ticker","symbol":"BTCUSDT","__proto__":{"x":1}}')],
      'INVALID_PAYLOAD',
    ],
    [
      'unknown channel',
      'subscribe',
      [{ channel: 'candles', symbol: 'BTCUSDT' }],
      'UNKNOWN_CHANNEL',
    ],
    [
      'private channel on subscribe',
      'subscribe',
      [{ channel: 'user.orders', symbol: 'BTCUSDT' }],
      'UNKNOWN_CHANNEL',
    ],
    ['channel not a string', 'subscribe', [{ channel: 42, symbol: 'BTCUSDT' }], 'UNKNOWN_CHANNEL'],
    ['huge channel', 'subscribe', [{ channel: huge, symbol: 'BTCUSDT' }], 'UNKNOWN_CHANNEL'],
    ['bad symbol', 'subscribe', [{ channel: 'ticker', symbol: 'BTC USDT' }], 'INVALID_SYMBOL'],
    [
      'symbol with the room separator',
      'subscribe',
      [{ channel: 'trades', symbol: 'BTC:USDT' }],
      'INVALID_SYMBOL',
    ],
    [
      'symbol not a string',
      'subscribe',
      [{ channel: 'ticker', symbol: ['BTCUSDT'] }],
      'INVALID_SYMBOL',
    ],
    ['huge symbol', 'subscribe', [{ channel: 'ticker', symbol: huge }], 'INVALID_SYMBOL'],
    ['"all" off the ticker', 'subscribe', [{ channel: 'trades', symbol: 'all' }], 'INVALID_SYMBOL'],
    [
      'klines without interval',
      'subscribe',
      [{ channel: 'klines', symbol: 'BTCUSDT' }],
      'INVALID_INTERVAL',
    ],
    [
      'klines with null interval',
      'subscribe',
      [{ channel: 'klines', symbol: 'BTCUSDT', interval: null }],
      'INVALID_INTERVAL',
    ],
    [
      'bad interval',
      'subscribe',
      [{ channel: 'klines', symbol: 'BTCUSDT', interval: '2m' }],
      'INVALID_INTERVAL',
    ],
    [
      'huge interval',
      'subscribe',
      [{ channel: 'klines', symbol: 'BTCUSDT', interval: huge }],
      'INVALID_INTERVAL',
    ],
    [
      'interval off klines',
      'subscribe',
      [{ channel: 'ticker', symbol: 'BTCUSDT', interval: '1m' }],
      'INVALID_INTERVAL',
    ],
    [
      'bad unsubscribe',
      'unsubscribe',
      [{ channel: 'candles', symbol: 'BTCUSDT' }],
      'UNKNOWN_CHANNEL',
    ],
    ['private while anonymous', 'subscribe.private', [{ channel: 'user.orders' }], 'AUTH_REQUIRED'],
    [
      'unknown private channel',
      'subscribe.private',
      [{ channel: 'user.secrets' }],
      'UNKNOWN_CHANNEL',
    ],
    [
      'private with a user id',
      'subscribe.private',
      [{ channel: 'user.orders', userId: 'u1' }],
      'INVALID_PAYLOAD',
    ],
    ['unknown event', 'subscribe.all', [{}], 'INVALID_PAYLOAD'],
  ];

  describe.each(invalidCommands)('refuses %s', (_case, event, args, code) => {
    it('through the ack, and keeps answering ping', async () => {
      const socket = await gateway.connect();
      const answer = await command(socket, event, ...args);
      expect(answer).toEqual({
        ok: false,
        command: event,
        ...echoOf(args.length === 1 ? args[0] : args),
        error: { code, message: expect.any(String) },
      });
      expect(answer.error.message.length).toBeLessThan(300);
      expect(await command(socket, 'ping')).toEqual({ ok: true, timestamp: expect.any(Number) });
    });

    it('as an error event without an ack, and keeps answering ping', async () => {
      const socket = await gateway.connect();
      const recorder = new Recorder(socket, ['error', 'pong']);
      socket.emit(event, ...args);
      socket.emit('ping');
      const [pong] = await recorder.waitFor('pong');
      expect(pong).toEqual({ ok: true, timestamp: expect.any(Number) });
      expect(recorder.payloads('error')).toEqual([
        {
          ok: false,
          command: event,
          ...echoOf(args.length === 1 ? args[0] : args),
          error: { code, message: expect.any(String) },
        },
      ]);
    });
  });

  it('answers ping with pong without an ack', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['pong']);
    socket.emit('ping', { anything: true });
    const [pong] = await recorder.waitFor('pong');
    expect(pong.timestamp).toBeGreaterThan(0);
  });

  it('refuses invalid emitted events with a count, and keeps delivering valid ones', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade', 'orderbook.update']);
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'ADAUSDT' });
    await command(socket, 'subscribe', { channel: 'orderbook', symbol: 'ADAUSDT' });
    const rejected = gateway.app.get(RejectedEventLog);
    const before = rejected.total();
    const invalidEvents: Array<[string, unknown]> = [
      [RealtimeEvent.Trade, null],
      [RealtimeEvent.Trade, 'ADAUSDT'],
      [RealtimeEvent.Trade, { price: '1' }],
      [RealtimeEvent.Trade, { symbol: 'ada usdt' }],
      [RealtimeEvent.Trade, { symbol: 'ADAUSDT', price: 1.5 }],
      [RealtimeEvent.Trade, { symbol: 'ADAUSDT', side: 'long' }],
      [
        RealtimeEvent.OrderBookUpdate,
        { symbol: 'ADAUSDT', firstUpdateId: 5, lastUpdateId: 4, bids: [], asks: [] },
      ],
      [
        RealtimeEvent.OrderBookUpdate,
        { symbol: 'ADAUSDT', firstUpdateId: 5, lastUpdateId: 5, bids: [['1', 2]], asks: [] },
      ],
      [RealtimeEvent.KlineUpdate, { symbol: 'ADAUSDT', interval: '7m' }],
      [RealtimeEvent.OrderFilled, { orderId: 1 }],
      [RealtimeEvent.SystemAlert, { level: 'info' }],
    ];
    for (const [event, data] of invalidEvents) {
      gateway.emitter.emit(event, data);
      gateway.emitter.emit(RealtimeEvent.Trade, trade('ADAUSDT', 1));
    }
    await roundTrip(socket);
    expect(rejected.total() - before).toBe(invalidEvents.length);
    expect(recorder.payloads('orderbook.update')).toEqual([]);
    expect(recorder.payloads('trade').map((e) => e.offset)).toEqual(
      Array.from({ length: invalidEvents.length }, (_, i) => i + 1),
    );
  });
});
