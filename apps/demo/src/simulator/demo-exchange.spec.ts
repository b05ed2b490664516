import { describe, expect, it } from '@jest/globals';
import { DemoExchange, MAX_OPEN_ORDERS, OrderRejected, type PlaceOrder } from './demo-exchange.js';

const QUOTE = { bid: 100, ask: 101, priceDecimals: 2 };

function exchange() {
  let id = 0;
  return new DemoExchange(() => ++id);
}

const limit = (side: 'buy' | 'sell', price: string, quantity = '2'): PlaceOrder => ({
  symbol: 'BTCUSDT',
  side,
  type: 'limit',
  price,
  quantity,
});

function refused(place: () => unknown): string {
  try {
    place();
  } catch (error) {
    expect(error).toBeInstanceOf(OrderRejected);
    return (error as OrderRejected).code;
  }
  throw new Error('expected a refusal');
}

describe('DemoExchange', () => {
  it('fills a market order at once, whole, at the touch', () => {
    const x = exchange();
    const buy = x.place(
      'alice',
      { symbol: 'BTCUSDT', side: 'buy', type: 'market', quantity: '1.5' },
      QUOTE,
      1000,
    );
    expect(buy.order).toMatchObject({
      orderId: 1,
      status: 'filled',
      price: '101.00',
      filledMilli: 1500,
    });
    expect(buy.fill).toMatchObject({ milli: 1500, price: 101 });
    const sell = x.place(
      'alice',
      { symbol: 'BTCUSDT', side: 'sell', type: 'market', quantity: '1' },
      QUOTE,
      1000,
    );
    expect(sell.fill?.price).toBe(100);
    expect(x.openOrders('alice')).toEqual([]);
    expect(x.locked('alice')).toBe(0);
  });

  it('keeps a limit order open with its notional locked, until the market crosses it', () => {
    const x = exchange();
    const { order, fill } = x.place('alice', limit('buy', '99'), QUOTE, 1000);
    expect(fill).toBeUndefined();
    expect(order.status).toBe('new');
    expect(x.locked('alice')).toBe(198);
    expect(x.locked('bob')).toBe(0);
    expect(x.match('BTCUSDT', QUOTE)).toEqual([]);
    expect(x.match('ETHUSDT', { bid: 1, ask: 2, priceDecimals: 2 })).toEqual([]);
    const first = x.match('BTCUSDT', { bid: 98, ask: 99, priceDecimals: 2 });
    expect(first).toEqual([{ order, milli: 1000, price: 99 }]);
    expect(order.status).toBe('partially_filled');
    expect(x.locked('alice')).toBe(99);
    x.match('BTCUSDT', { bid: 98, ask: 99, priceDecimals: 2 });
    expect(order).toMatchObject({ status: 'filled', filledMilli: 2000 });
    expect(x.openOrders('alice')).toEqual([]);
    expect(x.locked('alice')).toBe(0);
  });

  it('fills a sell when the bid reaches it, at the bid; the smallest order in one step', () => {
    const x = exchange();
    const { order } = x.place(
      'bob',
      limit('sell', '100', '0.001'),
      { bid: 99, ask: 100, priceDecimals: 2 },
      1000,
    );
    expect(x.match('BTCUSDT', { bid: 100.5, ask: 101, priceDecimals: 2 })).toEqual([
      { order, milli: 1, price: 100.5 },
    ]);
    expect(order.status).toBe('filled');
  });

  it('cancels an open order of its own user only', () => {
    const x = exchange();
    const { order } = x.place('alice', limit('buy', '50'), QUOTE, 1000);
    expect(refused(() => x.cancel('bob', order.orderId))).toBe('UNKNOWN_ORDER');
    expect(x.has(order.orderId)).toBe(true);
    expect(x.cancel('alice', order.orderId).status).toBe('cancelled');
    expect(x.locked('alice')).toBe(0);
    expect(refused(() => x.cancel('alice', order.orderId))).toBe('UNKNOWN_ORDER');
    expect(refused(() => x.cancel('alice', 12345))).toBe('UNKNOWN_ORDER');
  });

  it('refuses what it cannot take, with a code each', () => {
    const x = exchange();
    expect(refused(() => x.place('alice', limit('buy', '101', '10'), QUOTE, 1000))).toBe(
      'INSUFFICIENT_FUNDS',
    );
    expect(refused(() => x.place('alice', limit('buy', '1'), undefined, 1000))).toBe(
      'UNKNOWN_SYMBOL',
    );
    expect(
      refused(() => x.place('alice', { ...limit('buy', '1'), side: 'hold' }, QUOTE, 1000)),
    ).toBe('INVALID_ORDER');
    expect(
      refused(() => x.place('alice', { ...limit('buy', '1'), type: 'stop' }, QUOTE, 1000)),
    ).toBe('INVALID_ORDER');
    expect(
      refused(() =>
        x.place(
          'alice',
          { symbol: 'BTCUSDT', side: 'buy', type: 'limit', quantity: '1' },
          QUOTE,
          1000,
        ),
      ),
    ).toBe('INVALID_ORDER');
    for (const quantity of ['0', '0.0001', '-1', '1e3'])
      expect(refused(() => x.place('alice', limit('buy', '1', quantity), QUOTE, 1000))).toBe(
        'INVALID_ORDER',
      );
    for (const price of ['0', '-5'])
      expect(refused(() => x.place('alice', limit('buy', price), QUOTE, 1000))).toBe(
        'INVALID_ORDER',
      );
    expect(x.openOrders('alice')).toEqual([]);
  });

  it('counts open orders against free funds and a limit per user', () => {
    const x = exchange();
    for (let i = 0; i < MAX_OPEN_ORDERS; i++) x.place('alice', limit('buy', '1', '1'), QUOTE, 1000);
    expect(refused(() => x.place('alice', limit('buy', '1', '1'), QUOTE, 1000))).toBe(
      'TOO_MANY_ORDERS',
    );
    expect(x.locked('alice')).toBe(MAX_OPEN_ORDERS);
  });
});
