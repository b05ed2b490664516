import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import {
  RealtimeEmitter,
  RealtimeEvent,
  RequestRefused,
  type RealtimeRequestHandler,
  type RelayedRequest,
} from '#realtime';
import type { DemoPayloads } from '../simulator/demo-events.js';
import {
  DemoExchange,
  OrderRejected,
  quantityOf,
  type ExchangeOrder,
  type OrderFill,
  type PlaceOrder,
  type Quote,
} from '../simulator/demo-exchange.js';
import { MarketSimulator } from '../simulator/market-simulator.service.js';
import { UserActivitySimulator } from '../simulator/user-activity.simulator.js';

/** How often open orders are matched against the market's touch. */
const MATCH_MS = 250;

/** What `order.place` answers. */
export interface PlacedOrder {
  orderId: number;
  status: ExchangeOrder['status'];
}

/**
 * The demo's order entry, answering the `order.place` and `order.cancel` requests the
 * gateway relays (an in-process backend: `backend: { provider: DemoOrderDesk }`). An order
 * is published on the user's `user.orders` channel as a matching engine would: `order.created`,
 * then `order.filled` (status `partially_filled`, then `filled`) as the simulated market
 * crosses its price, at once for a market order; its margin shows on `user.balances`.
 */
@Injectable()
export class DemoOrderDesk
  implements RealtimeRequestHandler, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly exchange: DemoExchange;
  private readonly events: RealtimeEmitter<DemoPayloads>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(EventEmitter2) emitter: EventEmitter2,
    @Inject(MarketSimulator) private readonly market: MarketSimulator,
    @Inject(UserActivitySimulator) private readonly users: UserActivitySimulator,
  ) {
    this.events = new RealtimeEmitter<DemoPayloads>(emitter);
    this.exchange = new DemoExchange(() => users.newOrderId());
    users.lockedOf = (userId) => this.exchange.locked(userId);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.matchAll(), MATCH_MS);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  handle(request: RelayedRequest): PlacedOrder {
    // The methods are declared with user: 'required': the gateway verified this user.
    const userId = request.userId!;
    try {
      if (request.method === 'order.place')
        return this.place(userId, request.params as unknown as PlaceOrder);
      if (request.method === 'order.cancel')
        return this.cancel(userId, Number(request.params.orderId));
    } catch (error) {
      if (error instanceof OrderRejected) throw new RequestRefused(error.code, error.message);
      throw error;
    }
    throw new RequestRefused('UNKNOWN_METHOD', `the order desk does not answer ${request.method}`);
  }

  private place(userId: string, params: PlaceOrder): PlacedOrder {
    const free = this.users.free(userId);
    if (free === undefined)
      throw new OrderRejected('INSUFFICIENT_FUNDS', `${userId} has no demo account`);
    const { order, fill } = this.exchange.place(userId, params, this.quote(params.symbol), free);
    const now = Date.now();
    this.emitOrder(RealtimeEvent.OrderCreated, { ...order, status: 'new', filledMilli: 0 }, now);
    if (fill) this.filled(fill, now);
    else this.users.publishBalance(userId, now);
    return { orderId: order.orderId, status: order.status };
  }

  private cancel(userId: string, orderId: number): PlacedOrder {
    if (!this.exchange.has(orderId) && this.users.cancelOrder(userId, orderId))
      return { orderId, status: 'cancelled' };
    const order = this.exchange.cancel(userId, orderId);
    const now = Date.now();
    this.emitOrder(RealtimeEvent.OrderCancelled, order, now);
    this.users.publishBalance(userId, now);
    return { orderId, status: 'cancelled' };
  }

  private matchAll(): void {
    const now = Date.now();
    for (const market of this.market.markets)
      for (const fill of this.exchange.match(market.symbol, this.quote(market.symbol)!))
        this.filled(fill, now);
  }

  private filled({ order, milli, price }: OrderFill, now: number): void {
    this.emitOrder(RealtimeEvent.OrderFilled, order, now);
    this.users.applyFill(
      order.userId,
      {
        orderId: order.orderId,
        symbol: order.symbol,
        side: order.side,
        price: String(price),
        quantity: quantityOf(milli),
      },
      now,
    );
  }

  private quote(symbol: string): Quote | undefined {
    const market = this.market.markets.find((m) => m.symbol === symbol);
    if (!market) return undefined;
    const ticker = market.ticker(Date.now());
    return {
      bid: Number(ticker.bidPrice),
      ask: Number(ticker.askPrice),
      priceDecimals: market.spec.priceDecimals,
    };
  }

  private emitOrder(
    event:
      | typeof RealtimeEvent.OrderCreated
      | typeof RealtimeEvent.OrderFilled
      | typeof RealtimeEvent.OrderCancelled,
    order: ExchangeOrder,
    now: number,
  ): void {
    this.events.emit(event, {
      userId: order.userId,
      orderId: order.orderId,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      status: order.status,
      price: order.price,
      quantity: quantityOf(order.milli),
      filledQuantity: quantityOf(order.filledMilli),
      timestamp: now,
    });
  }
}
