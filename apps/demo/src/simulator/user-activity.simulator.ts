import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RealtimeEmitter, RealtimeEvent } from '#realtime';
import { DEMO_USERS } from '../auth/demo-users.js';
import type { DemoPayloads } from './demo-events.js';
import { DemoPortfolio, position } from './demo-portfolio.js';
import { MarketSimulator } from './market-simulator.service.js';

const TICK_MS = 1_500;
const STARTING_USDT = 10_000;

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
 * engine would, and after every fill the demo's own `portfolio.update`.
 */
@Injectable()
export class UserActivitySimulator implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private nextOrderId = 1;
  private nextTradeId = 1;
  private readonly openOrders = new Map<string, OpenOrder[]>();
  private readonly portfolios = new Map<string, DemoPortfolio>(
    DEMO_USERS.map((user) => [user, new DemoPortfolio(STARTING_USDT)]),
  );
  private readonly events: RealtimeEmitter<DemoPayloads>;

  constructor(
    @Inject(EventEmitter2) emitter: EventEmitter2,
    @Inject(MarketSimulator) private readonly market: MarketSimulator,
  ) {
    this.events = new RealtimeEmitter<DemoPayloads>(emitter);
  }

  onApplicationBootstrap(): void {
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
    this.emitOrder(RealtimeEvent.OrderFilled, userId, order, 'filled', order.quantity, now);
    this.unlock(userId, now);
    this.applyFill(userId, order, now);
  }

  /**
   * A fill of one of the user's orders (the simulator's or one the user placed): the trade,
   * then the balance, the position and the portfolio it changed.
   */
  applyFill(
    userId: string,
    fill: Pick<OpenOrder, 'orderId' | 'symbol' | 'side' | 'price' | 'quantity'>,
    now = Date.now(),
  ): void {
    const notional = Number(this.notional(fill));
    const portfolio = this.portfolios.get(userId)!;
    const held = portfolio.fill(fill.symbol, fill.side, Number(fill.price), fill.quantity);
    this.events.emit(RealtimeEvent.TradeExecuted, {
      userId,
      tradeId: this.nextTradeId++,
      orderId: fill.orderId,
      symbol: fill.symbol,
      side: fill.side,
      price: fill.price,
      quantity: fill.quantity,
      fee: (notional * 0.001).toFixed(4),
      feeAsset: 'USDT',
      timestamp: now,
    });
    this.publishBalance(userId, now);
    this.events.emit(RealtimeEvent.PositionUpdate, {
      userId,
      ...position(fill.symbol, held, this.markPrice(fill.symbol)),
      timestamp: now,
    });
    this.publishPortfolio(userId, now);
  }

  /** The next order id, shared with the orders users place themselves. */
  newOrderId(): number {
    return this.nextOrderId++;
  }

  /** The USDT the user's own open orders lock (set by the order desk). */
  lockedOf: (userId: string) => number = () => 0;

  /**
   * What a new order of the user's may use, in USDT: the account's equity (cash and positions
   * marked to the last price, as a perpetual's margin) less what their open orders lock;
   * undefined for an unknown user.
   */
  free(userId: string): number | undefined {
    const portfolio = this.portfolios.get(userId);
    if (!portfolio) return undefined;
    const { equity } = portfolio.snapshot(userId, (symbol) => this.markPrice(symbol), Date.now());
    return Number(equity) - this.lockedOf(userId);
  }

  /** Cancels one of the simulator's open orders of the user's; false when it has none by that id. */
  cancelOrder(userId: string, orderId: number): boolean {
    const orders = this.openOrders.get(userId) ?? [];
    const at = orders.findIndex((order) => order.orderId === orderId);
    if (at < 0) return false;
    this.cancel(userId, orders.splice(at, 1)[0]!);
    return true;
  }

  /** Publishes the user's USDT balance as it is now (after every fill, and on sign-in). */
  publishBalance(userId: string, now = Date.now()): void {
    const portfolio = this.portfolios.get(userId);
    if (!portfolio) return;
    const locked = this.lockedOf(userId);
    this.events.emit(RealtimeEvent.BalanceUpdated, {
      userId,
      asset: 'USDT',
      free: (portfolio.cash - locked).toFixed(2),
      locked: locked.toFixed(2),
      timestamp: now,
    });
  }

  /** Publishes the user's portfolio as it is now (after every fill, and on sign-in). */
  publishPortfolio(userId: string, now = Date.now()): void {
    const portfolio = this.portfolios.get(userId);
    if (!portfolio) return;
    this.events.emit(
      'portfolio.update',
      portfolio.snapshot(userId, (symbol) => this.markPrice(symbol), now),
    );
  }

  /** A position is marked to its market's last trade. */
  private markPrice(symbol: string): number {
    return Number(this.market.markets.find((market) => market.symbol === symbol)!.lastPrice);
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

  private notional(order: Pick<OpenOrder, 'price' | 'quantity'>): string {
    return (Number(order.price) * Number(order.quantity)).toFixed(2);
  }
}
