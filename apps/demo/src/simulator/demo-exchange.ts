/**
 * The orders demo users place themselves (the `order.place` request): checked, their margin
 * locked, and filled against the simulated market. Pure state; the order desk drives it with
 * the market's prices and publishes what it says.
 *
 * Quantities have three decimals, counted in thousandths (milli) so sums stay exact. Either
 * side locks its notional in USDT as margin (the demo's markets are perpetuals: a sell may
 * open a short), released as the order fills or is cancelled.
 */

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';
export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'cancelled';

export interface ExchangeOrder {
  readonly orderId: number;
  readonly userId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  /** The limit price, or for a market order the price it filled at. */
  price: string;
  /** Thousandths of a unit. */
  readonly milli: number;
  filledMilli: number;
  status: OrderStatus;
}

/** The best prices of one market, as numbers. */
export interface Quote {
  readonly bid: number;
  readonly ask: number;
  readonly priceDecimals: number;
}

/** One fill of an order: how much, at what price. */
export interface OrderFill {
  readonly order: ExchangeOrder;
  readonly milli: number;
  readonly price: number;
}

/** What `place` was given, as the request's params (checked by the gateway's schema first). */
export interface PlaceOrder {
  symbol: string;
  side: string;
  type: string;
  price?: string;
  quantity: string;
}

/** A refusal, with the code the client gets. */
export class OrderRejected extends Error {
  constructor(
    readonly code:
      | 'INVALID_ORDER'
      | 'UNKNOWN_SYMBOL'
      | 'INSUFFICIENT_FUNDS'
      | 'UNKNOWN_ORDER'
      | 'TOO_MANY_ORDERS',
    message: string,
  ) {
    super(message);
  }
}

/** Most open orders one user may have. */
export const MAX_OPEN_ORDERS = 20;
/** The largest order, in units. */
const MAX_QUANTITY_MILLI = 1_000_000 * 1000;
const QUANTITY = /^\d{1,7}(\.\d{1,3})?$/;

export function quantityOf(milli: number): string {
  return (milli / 1000).toFixed(3);
}

export class DemoExchange {
  private readonly open = new Map<number, ExchangeOrder>();

  constructor(private readonly newOrderId: () => number) {}

  /** The USDT a user's open orders lock. */
  locked(userId: string): number {
    let locked = 0;
    for (const order of this.open.values())
      if (order.userId === userId)
        locked += ((order.milli - order.filledMilli) / 1000) * Number(order.price);
    return locked;
  }

  /** A user's open orders, oldest first. */
  openOrders(userId: string): ExchangeOrder[] {
    return [...this.open.values()].filter((order) => order.userId === userId);
  }

  /**
   * Accepts an order against `free` USDT; a market order fills at once, whole, at the touch.
   * Returns the order and its fill (market orders), or throws `OrderRejected`.
   */
  place(
    userId: string,
    params: PlaceOrder,
    quote: Quote | undefined,
    free: number,
  ): { order: ExchangeOrder; fill?: OrderFill } {
    if (!quote) throw new OrderRejected('UNKNOWN_SYMBOL', `no market ${params.symbol}`);
    const { side, type } = params;
    if (side !== 'buy' && side !== 'sell')
      throw new OrderRejected('INVALID_ORDER', 'side must be buy or sell');
    if (type !== 'limit' && type !== 'market')
      throw new OrderRejected('INVALID_ORDER', 'type must be limit or market');
    if (!QUANTITY.test(params.quantity))
      throw new OrderRejected('INVALID_ORDER', 'quantity must have at most 3 decimals');
    const milli = Math.round(Number(params.quantity) * 1000);
    if (milli <= 0 || milli > MAX_QUANTITY_MILLI)
      throw new OrderRejected('INVALID_ORDER', 'quantity must be above 0 and at most 1000000');
    let price: number;
    if (type === 'limit') {
      if (params.price === undefined)
        throw new OrderRejected('INVALID_ORDER', 'a limit order needs a price');
      price = Number(params.price);
      if (!(price > 0) || params.price.startsWith('-'))
        throw new OrderRejected('INVALID_ORDER', 'price must be above 0');
    } else {
      price = side === 'buy' ? quote.ask : quote.bid;
    }
    if (type === 'limit' && this.openOrders(userId).length >= MAX_OPEN_ORDERS)
      throw new OrderRejected('TOO_MANY_ORDERS', `at most ${MAX_OPEN_ORDERS} open orders`);
    const notional = (milli / 1000) * price;
    if (notional > free)
      throw new OrderRejected(
        'INSUFFICIENT_FUNDS',
        `the order needs ${notional.toFixed(2)} USDT of margin, ${Math.max(0, free).toFixed(2)} are free`,
      );
    const order: ExchangeOrder = {
      orderId: this.newOrderId(),
      userId,
      symbol: params.symbol,
      side,
      type,
      price: type === 'limit' ? params.price! : price.toFixed(quote.priceDecimals),
      milli,
      filledMilli: 0,
      status: 'new',
    };
    if (type === 'market') {
      order.filledMilli = milli;
      order.status = 'filled';
      return { order, fill: { order, milli, price } };
    }
    this.open.set(order.orderId, order);
    return { order };
  }

  /** Cancels an open order of `userId`'s; another user's order, or none, is `UNKNOWN_ORDER`. */
  cancel(userId: string, orderId: number): ExchangeOrder {
    const order = this.open.get(orderId);
    if (!order || order.userId !== userId)
      throw new OrderRejected('UNKNOWN_ORDER', `no open order ${orderId}`);
    this.open.delete(orderId);
    order.status = 'cancelled';
    return order;
  }

  /** Whether `orderId` is an open order of this exchange's (any user's). */
  has(orderId: number): boolean {
    return this.open.has(orderId);
  }

  /**
   * The market moved: every open limit order the touch crossed (a buy at or above the ask,
   * a sell at or below the bid) fills by half its quantity at most, at the touch (never
   * worse than its limit), so an order shows `partially_filled` before `filled`.
   */
  match(symbol: string, quote: Quote): OrderFill[] {
    const fills: OrderFill[] = [];
    for (const order of this.open.values()) {
      if (order.symbol !== symbol) continue;
      const limit = Number(order.price);
      const crossed = order.side === 'buy' ? quote.ask <= limit : quote.bid >= limit;
      if (!crossed) continue;
      const step = Math.max(1, Math.ceil(order.milli / 2));
      const milli = Math.min(step, order.milli - order.filledMilli);
      order.filledMilli += milli;
      order.status = order.filledMilli === order.milli ? 'filled' : 'partially_filled';
      if (order.status === 'filled') this.open.delete(order.orderId);
      fills.push({ order, milli, price: order.side === 'buy' ? quote.ask : quote.bid });
    }
    return fills;
  }
}
