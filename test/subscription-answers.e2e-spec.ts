import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GatewayHarness, Recorder, command } from './support/gateway-harness.js';

const KEY = 'publish-key-for-subscription-answers';
const ANSWERS = ['subscribed', 'unsubscribed', 'pong', 'error'];

const refusal = (command: string, echo: Record<string, string>, code: string) => ({
  ok: false,
  command,
  ...echo,
  error: { code, message: expect.any(String) },
});

/** Commands mixing refusals and successes, each with the answer it must get, in order. */
/** A room nobody published to yet: offset 0 of a fresh epoch. */
const NEW_STREAM = { offset: 0, epoch: expect.any(String) };

/**
 * The answers of round `i`: from the second round on the klines subscription is already
 * there (never unsubscribed), and an answer to a subscription a connection has carries no
 * position (nothing follows it).
 */
function answersOfRound(i: number) {
  return round.map(([, sent, name, payload]) => {
    const again =
      i > 0 && name === 'subscribed' && (sent as { channel: string }).channel === 'klines';
    if (!again) return { name, payload };
    const rest = { ...(payload as Record<string, unknown>) };
    delete rest.position;
    return { name, payload: rest };
  });
}

const round: Array<[string, unknown, string, unknown]> = [
  [
    'subscribe',
    { channel: 'ticker', symbol: 'BTC USDT' },
    'error',
    refusal('subscribe', { channel: 'ticker', symbol: 'BTC USDT' }, 'INVALID_SYMBOL'),
  ],
  [
    'subscribe',
    { channel: 'ticker', symbol: 'btcusdt' },
    'subscribed',
    { ok: true, channel: 'ticker', symbol: 'BTCUSDT', position: NEW_STREAM },
  ],
  [
    'subscribe',
    { channel: 'klines', symbol: 'ETHUSDT', interval: '2m' },
    'error',
    refusal(
      'subscribe',
      { channel: 'klines', symbol: 'ETHUSDT', interval: '2m' },
      'INVALID_INTERVAL',
    ),
  ],
  [
    'subscribe',
    { channel: 'klines', symbol: 'ethusdt', interval: '1m' },
    'subscribed',
    { ok: true, channel: 'klines', symbol: 'ETHUSDT', interval: '1m', position: NEW_STREAM },
  ],
  [
    'no.such.command',
    { channel: 'ticker' },
    'error',
    refusal('no.such.command', {}, 'INVALID_PAYLOAD'),
  ],
  [
    'unsubscribe',
    { channel: 'candles', symbol: 'BTCUSDT' },
    'error',
    refusal('unsubscribe', { channel: 'candles', symbol: 'BTCUSDT' }, 'UNKNOWN_CHANNEL'),
  ],
  [
    'unsubscribe',
    { channel: 'ticker', symbol: 'BTCUSDT' },
    'unsubscribed',
    { ok: true, channel: 'ticker', symbol: 'BTCUSDT' },
  ],
  [
    'subscribe.private',
    { channel: 'user.orders' },
    'error',
    refusal('subscribe.private', { channel: 'user.orders' }, 'AUTH_REQUIRED'),
  ],
  ['ping', undefined, 'pong', { ok: true, timestamp: expect.any(Number) }],
];

describe('answers to subscription commands (real sockets)', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start(
      { limits: { messageRate: 1000, messageBurst: 1000 } },
      { publish: { apiKey: KEY, maxBodyBytes: 64 * 1024, maxBatch: 100 } },
    );
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('answers a burst of commands without acks in the order sent, each naming its subscription', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ANSWERS);
    const rounds = 5;
    for (let i = 0; i < rounds; i++) {
      for (const [event, payload] of round) {
        if (payload === undefined) socket.emit(event);
        else socket.emit(event, payload);
      }
    }
    await recorder.waitFor('pong', rounds);
    const expected = Array.from({ length: rounds }, (_, i) => answersOfRound(i)).flat();
    expect(recorder.events).toEqual(expected);
  });

  it('answers commands with acks in the order sent too', async () => {
    const socket = await gateway.connect();
    const order: number[] = [];
    const answers = await Promise.all(
      round.map(([event, payload], i) => {
        const args = payload === undefined ? [] : [payload];
        return command(socket, event, ...args).then((answer) => {
          order.push(i);
          return answer;
        });
      }),
    );
    expect(answers).toEqual(round.map(([, , , payload]) => payload));
    expect(order).toEqual(round.map((_, i) => i));
  });

  it.each([['ethusdß'], ['ıethusdt'], ['BTCUSDT\u00a0']])(
    'refuses the symbol %j before case mapping: symbols are ASCII',
    async (symbol) => {
      const socket = await gateway.connect();
      expect(await command(socket, 'subscribe', { channel: 'ticker', symbol })).toEqual({
        ok: false,
        command: 'subscribe',
        channel: 'ticker',
        symbol,
        error: {
          code: 'INVALID_SYMBOL',
          message: `symbol must be ASCII, got ${JSON.stringify(symbol)}`,
        },
      });
    },
  );

  it('counts a symbol’s length in characters, not UTF-16 units', async () => {
    const socket = await gateway.connect();
    // 40 characters, 80 UTF-16 units: within the length, refused for what it is.
    const forty = '😀'.repeat(40);
    expect(await command(socket, 'subscribe', { channel: 'ticker', symbol: forty })).toEqual({
      ok: false,
      command: 'subscribe',
      channel: 'ticker',
      symbol: forty,
      error: { code: 'INVALID_SYMBOL', message: `symbol must be ASCII, got "${forty}"` },
    });
    // 65 characters: one too many, and the message counts them as such.
    const long = '😀'.repeat(65);
    const cut = '😀'.repeat(64) + '...';
    expect(await command(socket, 'subscribe', { channel: 'ticker', symbol: long })).toEqual({
      ok: false,
      command: 'subscribe',
      channel: 'ticker',
      symbol: cut,
      error: {
        code: 'INVALID_SYMBOL',
        message: `symbol must be at most 64 characters, got "${cut}" (65 characters)`,
      },
    });
    // 64 ASCII characters are within the length; the symbol format decides.
    const answer = await command(socket, 'subscribe', {
      channel: 'ticker',
      symbol: 'A'.repeat(64),
    });
    expect(answer.error.message).toMatch(/^symbol must match /);
  });

  it('tells a client whose symbol is a number that it must be a string', async () => {
    const socket = await gateway.connect();
    expect(await command(socket, 'subscribe', { channel: 'trades', symbol: 5 })).toEqual({
      ok: false,
      command: 'subscribe',
      channel: 'trades',
      error: { code: 'INVALID_SYMBOL', message: 'symbol must be a string, got 5' },
    });
  });

  it('refuses interval on the ticker, null included, naming the subscription', async () => {
    const socket = await gateway.connect();
    for (const interval of [null, '1m']) {
      expect(
        await command(socket, 'subscribe', { channel: 'ticker', symbol: 'BTCUSDT', interval }),
      ).toEqual({
        ok: false,
        command: 'subscribe',
        channel: 'ticker',
        symbol: 'BTCUSDT',
        ...(interval === null ? {} : { interval }),
        error: { code: 'INVALID_INTERVAL', message: 'interval applies only to klines' },
      });
    }
  });

  it('says what a four-element order-book level (as OKX sends) was expected to be and what came', async () => {
    const response = await fetch(`${gateway.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        event: 'orderbook.snapshot',
        data: {
          symbol: 'OKXUSDT',
          lastUpdateId: 1,
          bids: [['41006.8', '0.60038921', '0', '1']],
          asks: [],
        },
      }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { refused: Array<{ message: string }> };
    expect(body.refused).toEqual([
      expect.objectContaining({
        code: 'INVALID_PAYLOAD',
        message:
          'data.bids[0] must be a [price, quantity] pair of non-negative decimal strings, ' +
          'got 4 elements ["41006.8", "0.60038921", "0", "1"]',
      }),
    ]);
  });
});
