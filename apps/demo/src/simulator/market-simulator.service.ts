import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RealtimeEvent } from '#realtime';
import { DEMO_MARKETS, SimulatedMarket } from './simulated-market.js';

/** Timer periods in milliseconds. */
const PERIOD = {
  ticker: 250,
  book: 200,
  // A real feed snapshots rarely; the gateway gives new subscribers its own copy at once.
  bookSnapshot: 60_000,
  tradeMin: 200,
  tradeMax: 800,
};

/**
 * A small exchange in the demo's own process: it publishes market data for the demo
 * symbols on EventEmitter2 exactly as a host app's services would.
 */
@Injectable()
export class MarketSimulator implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly markets = DEMO_MARKETS.map((spec) => new SimulatedMarket(spec));
  private readonly timers: NodeJS.Timeout[] = [];
  private running = false;

  constructor(@Inject(EventEmitter2) private readonly events: EventEmitter2) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.every(PERIOD.ticker, () => {
      for (const market of this.markets) {
        market.walk();
        this.events.emit(RealtimeEvent.TickerUpdate, market.ticker(Date.now()));
      }
    });
    this.every(PERIOD.book, () => {
      for (const market of this.markets)
        this.events.emit(RealtimeEvent.OrderBookUpdate, market.bookUpdate());
    });
    this.every(PERIOD.bookSnapshot, () => this.publishSnapshots());
    for (const market of this.markets) this.scheduleTrade(market);
    this.publishSnapshots();
  }

  onApplicationShutdown(): void {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
  }

  private publishSnapshots(): void {
    for (const market of this.markets) {
      this.events.emit(RealtimeEvent.OrderBookSnapshot, market.snapshot(Date.now()));
    }
  }

  private scheduleTrade(market: SimulatedMarket): void {
    const delay = PERIOD.tradeMin + Math.random() * (PERIOD.tradeMax - PERIOD.tradeMin);
    const timer = setTimeout(() => {
      this.timers.splice(this.timers.indexOf(timer), 1);
      if (!this.running) return;
      const { trade, klines } = market.trade(Date.now());
      this.events.emit(RealtimeEvent.Trade, trade);
      for (const kline of klines) this.events.emit(RealtimeEvent.KlineUpdate, kline);
      this.scheduleTrade(market);
    }, delay);
    this.timers.push(timer);
  }

  private every(periodMs: number, publish: () => void): void {
    this.timers.push(setInterval(publish, periodMs));
  }
}
