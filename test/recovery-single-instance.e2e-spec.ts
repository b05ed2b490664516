import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RealtimeEvent } from '#realtime';
import {
  GatewayHarness,
  Recorder,
  command,
  roundTrip,
  sleep,
  until,
} from './support/gateway-harness.js';
import { hsToken, TEST_SECRET } from './support/tokens.js';

const trade = (symbol: string, tradeId: number) => ({
  symbol,
  tradeId,
  price: '1',
  quantity: '1',
  side: 'buy',
  timestamp: Date.now(),
});
const fill = (userId: string, orderId: string) => ({
  userId,
  orderId,
  symbol: 'BTCUSDT',
  side: 'sell',
  price: '1',
  quantity: '1',
  status: 'filled',
});

describe('recovery on a single instance without Redis (history in memory)', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({
      auth: { secret: TEST_SECRET },
      recovery: {
        history: { trades: { size: 50, ageMs: 60_000 }, ticker: { size: 10, ageMs: 1000 } },
      },
      limits: { messageRate: 10_000, messageBurst: 10_000 },
    });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('catches a reconnecting client up exactly once, in order, while live trades keep coming', async () => {
    const first = await gateway.connect();
    const seen = new Recorder(first, ['trade']);
    await command(first, 'subscribe', { channel: 'trades', symbol: 'MEMUSDT' });
    let next = 1;
    for (; next <= 5; next++) gateway.emitter.emit(RealtimeEvent.Trade, trade('MEMUSDT', next));
    const got = await seen.waitFor('trade', 5);
    const { offset, epoch } = got.at(-1);
    first.disconnect();
    for (; next <= 40; next++) gateway.emitter.emit(RealtimeEvent.Trade, trade('MEMUSDT', next));

    const timer = setInterval(() => {
      if (next <= 200) gateway.emitter.emit(RealtimeEvent.Trade, trade('MEMUSDT', next++));
    }, 1);
    const back = await gateway.connect();
    const events = new Recorder(back, ['trade']);
    const answer = await command(back, 'subscribe', {
      channel: 'trades',
      symbol: 'MEMUSDT',
      since: { offset, epoch },
    });
    await sleep(100);
    clearInterval(timer);
    const last = next - 1;
    await until(
      () => events.payloads('trade').at(-1)?.data.tradeId === last,
      5000,
      'the last trade',
    );

    expect(answer).toMatchObject({ ok: true, recovered: true, position: { epoch } });
    const trades = events.payloads('trade');
    expect(trades.map((t) => t.data.tradeId)).toEqual(
      Array.from({ length: last - 5 }, (_, i) => i + 6),
    );
    expect(trades.map((t) => t.offset)).toEqual(trades.map((_, i) => offset + 1 + i));
    expect(trades.some((t) => t.replay)).toBe(false);
  });

  it('keeps a private channel across a reconnect: a fill while away arrives once it is back', async () => {
    const token = hsToken('u-mem');
    const phone = await gateway.connect({ auth: { token } });
    const answer = await command(phone, 'subscribe.private', { channel: 'user.orders' });
    expect(answer).toEqual({
      ok: true,
      channel: 'user.orders',
      position: { offset: 0, epoch: expect.any(String) },
    });
    phone.disconnect();
    gateway.emitter.emit(RealtimeEvent.OrderFilled, fill('u-mem', 'while-away'));
    gateway.emitter.emit(RealtimeEvent.OrderFilled, fill('someone-else', 'not-mine'));
    const back = await gateway.connect({ auth: { token } });
    const events = new Recorder(back, ['order.filled']);
    expect(
      await command(back, 'subscribe.private', { channel: 'user.orders', since: answer.position }),
    ).toEqual({
      ok: true,
      channel: 'user.orders',
      position: { offset: 1, epoch: answer.position.epoch },
      recovered: true,
    });
    const [filled] = await events.waitFor('order.filled');
    expect(filled).toMatchObject({ offset: 1, data: { orderId: 'while-away' } });
    expect(filled.symbol).toBeUndefined();
    await roundTrip(back);
    expect(events.payloads('order.filled')).toHaveLength(1);
  });

  it('says too_old past the history, epoch_changed for a stream it never had, history_off for order books', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade', 'orderbook.snapshot']);
    for (let i = 1; i <= 60; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade('OLDUSDT', i));
    const probe = await gateway.connect();
    const { position } = await command(probe, 'subscribe', {
      channel: 'trades',
      symbol: 'OLDUSDT',
    });
    expect(position.offset).toBe(60);
    const since = (offset: number, epoch = position.epoch) => ({ offset, epoch });

    // 50 kept: 11..60. Since 10 misses nothing older; since 9 misses offset 10.
    const ok = await command(socket, 'subscribe', {
      channel: 'trades',
      symbol: 'OLDUSDT',
      since: since(10),
    });
    expect(ok).toMatchObject({ recovered: true });
    await recorder.waitFor('trade', 50);
    await command(socket, 'unsubscribe', { channel: 'trades', symbol: 'OLDUSDT' });
    const tooOld = await command(socket, 'subscribe', {
      channel: 'trades',
      symbol: 'OLDUSDT',
      since: since(9),
    });
    expect(tooOld).toEqual({
      ok: true,
      channel: 'trades',
      symbol: 'OLDUSDT',
      position: since(60),
      recovered: false,
      reason: 'too_old',
    });
    await command(socket, 'unsubscribe', { channel: 'trades', symbol: 'OLDUSDT' });
    const otherEpoch = await command(socket, 'subscribe', {
      channel: 'trades',
      symbol: 'OLDUSDT',
      since: since(59, 'an-epoch-of-another-stream'),
    });
    expect(otherEpoch).toMatchObject({ recovered: false, reason: 'epoch_changed' });
    // Both refusals sent the current state: the last 20 trades, replayed at the position.
    const replayed = recorder.payloads('trade').slice(50);
    expect(replayed).toHaveLength(40);
    expect(replayed.every((t) => t.replay === true && t.offset === 60)).toBe(true);

    gateway.emitter.emit(RealtimeEvent.OrderBookSnapshot, {
      symbol: 'OLDUSDT',
      lastUpdateId: 1,
      bids: [['1', '1']],
      asks: [['2', '1']],
    });
    const book = await command(socket, 'subscribe', {
      channel: 'orderbook',
      symbol: 'OLDUSDT',
      since: since(0),
    });
    expect(book).toMatchObject({ recovered: false, reason: 'history_off' });
    await recorder.waitFor('orderbook.snapshot');
  });

  it('trims a history by age, as configured per channel', async () => {
    const socket = await gateway.connect();
    await command(socket, 'subscribe', { channel: 'ticker', symbol: 'AGEUSDT' });
    const ticker = { symbol: 'AGEUSDT', lastPrice: '1' };
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, ticker);
    const recorder = new Recorder(socket, ['ticker.update']);
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, ticker);
    const [first] = await recorder.waitFor('ticker.update');
    const again = await gateway.connect();
    const fresh = await command(again, 'subscribe', {
      channel: 'ticker',
      symbol: 'AGEUSDT',
      since: { offset: first.offset - 1, epoch: first.epoch },
    });
    expect(fresh).toMatchObject({ recovered: true });
    await command(again, 'unsubscribe', { channel: 'ticker', symbol: 'AGEUSDT' });
    await sleep(1100);
    const stale = await command(again, 'subscribe', {
      channel: 'ticker',
      symbol: 'AGEUSDT',
      since: { offset: first.offset - 1, epoch: first.epoch },
    });
    expect(stale).toMatchObject({ recovered: false, reason: 'too_old' });
  });

  it('refuses a since that is no position, with the reason, and keeps the connection', async () => {
    const socket = await gateway.connect();
    const refused = await command(socket, 'subscribe', {
      channel: 'trades',
      symbol: 'BTCUSDT',
      since: { offset: '5', epoch: 'e' },
    });
    expect(refused).toEqual({
      ok: false,
      command: 'subscribe',
      channel: 'trades',
      symbol: 'BTCUSDT',
      error: {
        code: 'INVALID_PAYLOAD',
        message: 'since.offset must be a whole number from 0, got "5"',
      },
    });
    expect(
      (await command(socket, 'unsubscribe', { channel: 'trades', symbol: 'BTCUSDT', since: {} }))
        .error.code,
    ).toBe('INVALID_PAYLOAD');
    expect(await command(socket, 'ping')).toMatchObject({ ok: true });
  });

  it('counts recoveries by channel and outcome, and the messages history holds', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toMatch(/realtime_recoveries_total\{channel="trades",outcome="recovered"\} [1-9]/);
    expect(text).toMatch(/realtime_recoveries_total\{channel="trades",outcome="too_old"\} 1/);
    expect(text).toMatch(/realtime_recoveries_total\{channel="trades",outcome="epoch_changed"\} 1/);
    expect(text).toMatch(
      /realtime_recoveries_total\{channel="orderbook",outcome="history_off"\} 1/,
    );
    expect(text).toMatch(/realtime_recovered_messages_total\{channel="user.orders"\} 1/);
    const held = /realtime_history_messages (\d+)/.exec(text);
    expect(Number(held?.[1])).toBeGreaterThan(100);
  });
});
