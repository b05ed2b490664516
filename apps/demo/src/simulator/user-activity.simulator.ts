import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RealtimeEvent } from '#realtime';
import { DEMO_USERS } from '../auth/demo-users.js';
import { MarketSimulator } from './market-simulator.service.js';

const TICK_MS = 1_500;

interface OpenOrder {
  orderId: number;
  symbol: string;
  side: 'buy' | 'sell';
  price: string;
  quantity: string;
}

/**
 * The demo users' trading: orders placed, filled and cancelled at market prices, with the
 * fills, balance changes and positions they cause, published as a wallet and a matching
 * engine would.
 */
@Injectable()
export class UserActivitySimulator implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private nextOrderId = 1;
  private nextTradeId = 1;
  private readonly openOrders = new Map<string, OpenOrder[]>();
  private readonly usdt = new Map<string, number>();

  constructor(
    @Inject(EventEmitter2) private readonly events: EventEmitter2,
    @Inject(MarketSimulator) private readonly market: MarketSimulator,
  ) {}

  onApplicationBootstrap(): void {
    for (const user of DEMO_USERS) this.usdt.set(user, 10_000);
    this.timer = setInterval(() => {
      for (const user of DEMO_USERS) this.act(user);
    }, TICK_MS);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private act(userId: string): void {
    const orders = this.openOrders.get(userId) ?? [];
    this.openOrders.set(userId, orders);
    const roll = Math.random();
    if (orders.length === 0 || (roll < 0.5 && orders.length < 5)) this.place(userId, orders);
    else if (roll < 0.85) this.fill(userId, orders.shift()!);
    else this.cancel(userId, orders.shift()!);
  }

  private place(userId: string, orders: OpenOrder[]): void {
    const markets = this.market.markets;
    const market = markets[Math.floor(Math.random() * markets.length)]!;
    const ticker = market.ticker(Date.now());
    const side = Math.random() < 0.5 ? 'buy' : 'sell';
    const order: OpenOrder = {
      orderId: this.nextOrderId++,
      symbol: market.symbol,
      side,
      price: side === 'buy' ? ticker.bidPrice! : ticker.askPrice!,
      quantity: (0.01 + Math.random()).toFixed(3),
    };
    orders.push(order);
    const now = Date.now();
    this.emitOrder(RealtimeEvent.OrderCreated, userId, order, 'new', '0', now);
    this.events.emit(RealtimeEvent.BalanceLocked, {
      userId,
      asset: 'USDT',
      locked: this.notional(order),
      timestamp: now,
    });
  }

  private fill(userId: string, order: OpenOrder): void {
    const now = Date.now();
    const notional = Number(this.notional(order));
    const usdt = this.usdt.get(userId)! + (order.side === 'sell' ? notional : -notional);
    this.usdt.set(userId, usdt);
    this.emitOrder(RealtimeEvent.OrderFilled, userId, order, 'filled', order.quantity, now);
    this.events.emit(RealtimeEvent.TradeExecuted, {
      userId,
      tradeId: this.nextTradeId++,
      orderId: order.orderId,
      symbol: order.symbol,
      side: order.side,
      price: order.price,
      quantity: order.quantity,
      fee: (notional * 0.001).toFixed(4),
      feeAsset: 'USDT',
      timestamp: now,
    });
    this.unlock(userId, now);
    this.events.emit(RealtimeEvent.BalanceUpdated, {
      userId,
      asset: 'USDT',
      free: usdt.toFixed(2),
      locked: '0',
      timestamp: now,
    });
    this.events.emit(RealtimeEvent.PositionUpdate, {
      userId,
      symbol: order.symbol,
      size: (order.side === 'buy' ? '' : '-') + order.quantity,
      entryPrice: order.price,
      markPrice: order.price,
      unrealizedPnl: '0',
      timestamp: now,
    });
  }

  private cancel(userId: string, order: OpenOrder): void {
    const now = Date.now();
    this.emitOrder(RealtimeEvent.OrderCancelled, userId, order, 'cancelled', '0', now);
    this.unlock(userId, now);
  }

  private emitOrder(
    event:
      | typeof RealtimeEvent.OrderCreated
      | typeof RealtimeEvent.OrderFilled
      | typeof RealtimeEvent.OrderCancelled,
    userId: string,
    order: OpenOrder,
    status: string,
    filledQuantity: string,
    now: number,
  ): void {
    this.events.emit(event, {
      userId,
      ...order,
      type: 'limit',
      status,
      filledQuantity,
      timestamp: now,
    });
  }

  private unlock(userId: string, now: number): void {
    this.events.emit(RealtimeEvent.BalanceUnlocked, {
      userId,
      asset: 'USDT',
      locked: '0',
      timestamp: now,
    });
  }

  private notional(order: OpenOrder): string {
    return (Number(order.price) * Number(order.quantity)).toFixed(2);
  }
}
