import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command, until } from './support/gateway-harness.js';
import type { RunningProcess } from './support/processes.js';
import { startDemo } from './support/demo.js';

const ORDER_EVENTS = ['order.created', 'order.filled', 'order.cancelled'];
const SYMBOL = 'BTCUSDT';

describe('demo app: orders and questions over the live connection (request)', () => {
  let demo: RunningProcess;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ process: demo, url } = await startDemo());
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    expect(await demo.stop()).toBe('SIGTERM');
  });

  async function connect(user?: string): Promise<{ socket: Socket; recorder: Recorder }> {
    let auth = {};
    if (user) {
      const response = await fetch(`${url}/demo/token?user=${user}`);
      auth = { token: ((await response.json()) as { token: string }).token };
    }
    const socket = io(url + '/ws', { transports: ['websocket'], reconnection: false, auth });
    sockets.push(socket);
    const recorder = new Recorder(socket);
    const [greeting] = await recorder.waitFor('connected');
    expect(greeting.userId).toBe(user ?? null);
    return { socket, recorder };
  }

  /** Signed in and watching their orders and balance. */
  async function signIn(user: string) {
    const session = await connect(user);
    for (const channel of ['user.orders', 'user.balances'])
      expect((await command(session.socket, 'subscribe.private', { channel })).ok).toBe(true);
    const orderEvents = (orderId: number) =>
      session.recorder.events
        .filter((e) => ORDER_EVENTS.includes(e.name) && e.payload.data.orderId === orderId)
        .map((e) => ({ event: e.name, status: e.payload.data.status, data: e.payload.data }));
    const request = (method: string, params: object, requestId?: string) =>
      command(session.socket, 'request', { method, params, ...(requestId ? { requestId } : {}) });
    return { ...session, orderEvents, request };
  }

  /** The market's touch now, from its ticker. */
  async function touch(socket: Socket, recorder: Recorder): Promise<{ bid: number; ask: number }> {
    expect((await command(socket, 'subscribe', { channel: 'ticker', symbol: SYMBOL })).ok).toBe(
      true,
    );
    await recorder.waitFor('ticker.update');
    const ticker = recorder.payloads('ticker.update').at(-1).data;
    return { bid: Number(ticker.bidPrice), ask: Number(ticker.askPrice) };
  }

  it('places a limit and a market order, sees them on user.orders, cancels one', async () => {
    const alice = await signIn('alice');
    const { bid, ask } = await touch(alice.socket, alice.recorder);

    // A limit buy far below the market: accepted, published as new, its margin locked.
    const resting = await alice.request(
      'order.place',
      { symbol: SYMBOL, side: 'buy', type: 'limit', price: (bid / 2).toFixed(1), quantity: '0.01' },
      'alice-limit-1',
    );
    expect(resting).toMatchObject({
      ok: true,
      method: 'order.place',
      requestId: 'alice-limit-1',
      result: { orderId: expect.any(Number), status: 'new' },
    });
    const restingId = resting.result.orderId as number;
    await until(() => alice.orderEvents(restingId).length === 1, 5000, 'the order on user.orders');
    expect(alice.orderEvents(restingId)[0]).toMatchObject({
      event: 'order.created',
      status: 'new',
      data: {
        userId: 'alice',
        symbol: SYMBOL,
        side: 'buy',
        type: 'limit',
        price: (bid / 2).toFixed(1),
        quantity: '0.010',
        filledQuantity: '0.000',
      },
    });
    await until(
      () =>
        alice.recorder
          .payloads('balance.updated')
          .some((e) => Number(e.data.locked) >= (bid / 2) * 0.01 - 0.01),
      5000,
      'the balance with the margin locked',
    );

    // A market sell: filled at once, at the touch.
    const market = await alice.request('order.place', {
      symbol: SYMBOL,
      side: 'sell',
      type: 'market',
      quantity: '0.005',
    });
    expect(market.result).toEqual({ orderId: expect.any(Number), status: 'filled' });
    const marketId = market.result.orderId as number;
    await until(() => alice.orderEvents(marketId).length === 2, 5000, 'the market order filled');
    expect(alice.orderEvents(marketId).map((e) => [e.event, e.status])).toEqual([
      ['order.created', 'new'],
      ['order.filled', 'filled'],
    ]);
    expect(alice.orderEvents(marketId)[1]!.data).toMatchObject({
      type: 'market',
      quantity: '0.005',
      filledQuantity: '0.005',
    });

    // A limit buy above the ask fills as the market meets it: in two halves.
    const crossing = await alice.request('order.place', {
      symbol: SYMBOL,
      side: 'buy',
      type: 'limit',
      price: (ask * 1.05).toFixed(1),
      quantity: '0.002',
    });
    expect(crossing.result.status).toBe('new');
    const crossingId = crossing.result.orderId as number;
    await until(() => alice.orderEvents(crossingId).length === 3, 5000, 'the limit order filled');
    expect(alice.orderEvents(crossingId).map((e) => [e.status, e.data.filledQuantity])).toEqual([
      ['new', '0.000'],
      ['partially_filled', '0.001'],
      ['filled', '0.002'],
    ]);

    // The resting one is cancelled; cancelled twice, it is unknown.
    const cancelled = await alice.request('order.cancel', { orderId: restingId });
    expect(cancelled.result).toEqual({ orderId: restingId, status: 'cancelled' });
    await until(() => alice.orderEvents(restingId).length === 2, 5000, 'the cancel on user.orders');
    expect(alice.orderEvents(restingId)[1]).toMatchObject({
      event: 'order.cancelled',
      status: 'cancelled',
    });
    const again = await alice.request('order.cancel', { orderId: restingId });
    expect(again).toMatchObject({
      ok: false,
      command: 'request',
      method: 'order.cancel',
      error: { code: 'UNKNOWN_ORDER' },
    });
    // Only alice's orders reached her.
    const users = alice.recorder.events
      .filter((e) => ORDER_EVENTS.includes(e.name))
      .map((e) => e.payload.data.userId);
    expect(new Set(users)).toEqual(new Set(['alice']));
  });

  it("refuses another user's order, an order beyond the funds, and an anonymous caller", async () => {
    const bob = await signIn('bob');
    const carol = await signIn('carol');
    const { bid } = await touch(bob.socket, bob.recorder);
    const placed = await bob.request('order.place', {
      symbol: SYMBOL,
      side: 'buy',
      type: 'limit',
      price: (bid / 2).toFixed(1),
      quantity: '0.01',
    });
    const orderId = placed.result.orderId as number;

    const stolen = await carol.request('order.cancel', { orderId }, 'carol-steal-1');
    expect(stolen).toEqual({
      ok: false,
      command: 'request',
      method: 'order.cancel',
      requestId: 'carol-steal-1',
      error: { code: 'UNKNOWN_ORDER', message: `no open order ${orderId}` },
    });
    // Still bob's and open: he cancels it.
    expect((await bob.request('order.cancel', { orderId })).result.status).toBe('cancelled');

    const tooBig = await bob.request('order.place', {
      symbol: SYMBOL,
      side: 'buy',
      type: 'limit',
      price: bid.toFixed(1),
      quantity: '1000',
    });
    expect(tooBig.error).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(tooBig.error.message).toMatch(/USDT/);
    const noPrice = await bob.request('order.place', {
      symbol: SYMBOL,
      side: 'buy',
      type: 'limit',
      quantity: '1',
    });
    expect(noPrice.error.code).toBe('INVALID_ORDER');

    const anonymous = await connect();
    const refused = await command(anonymous.socket, 'request', {
      method: 'order.place',
      params: { symbol: SYMBOL, side: 'buy', type: 'market', quantity: '1' },
    });
    expect(refused.error.code).toBe('AUTH_REQUIRED');
  });

  it('answers a question about the market, signed in or not', async () => {
    const anonymous = await connect();
    const answer = await command(anonymous.socket, 'request', {
      method: 'assistant.ask',
      params: { question: 'What is the spread of BTCUSDT?' },
    });
    expect(answer).toMatchObject({
      ok: true,
      method: 'assistant.ask',
      requestId: expect.any(String),
      result: {
        symbol: SYMBOL,
        answer: expect.stringMatching(/^The spread is \d+\.\d \(bid \d+\.\d, ask \d+\.\d\)\.$/),
        lastPrice: expect.stringMatching(/^\d+\.\d$/),
        changePercent: expect.stringMatching(/^-?\d+\.\d\d$/),
      },
    });
    expect(Number(answer.result.spread)).toBeGreaterThan(0);

    const carol = await signIn('carol');
    const other = await carol.request('assistant.ask', { question: 'how is ether doing' });
    expect(other.result).toMatchObject({ symbol: 'ETHUSDT' });
    expect(other.result.answer).toMatch(/^ETHUSDT last traded at .* over 24h\. The spread is/);
    const none = await carol.request('assistant.ask', { question: 'hello' });
    expect(none.result.answer).toMatch(/BTCUSDT .*ETHUSDT .*SOLUSDT/);
  });
});
