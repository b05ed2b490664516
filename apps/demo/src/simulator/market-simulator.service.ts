import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RealtimeEmitter, RealtimeEvent } from '#realtime';
import { CandleHistory } from './candle-history.js';
import type { DemoPayloads } from './demo-events.js';
import { DEMO_MARKETS, SimulatedMarket } from './simulated-market.js';

/** Timer periods in milliseconds. */
const PERIOD = {
  ticker: 250,
  book: 200,
  // A real feed snapshots rarely; the gateway gives new subscribers its own copy at once.
  bookSnapshot: 60_000,
  tradeMin: 200,
  tradeMax: 800,
  funding: 3_000,
};

/**
 * A small exchange in the demo's own process: it publishes market data for the demo
 * symbols on EventEmitter2 exactly as a host app's services would, its own `funding.rate`
 * beside the built-in events.
 */
@Injectable()
export class MarketSimulator implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly markets = DEMO_MARKETS.map((spec) => new SimulatedMarket(spec));
  /** Each market's closed one-minute candles (`market.candles` serves them), by symbol. */
  readonly candles: ReadonlyMap<string, CandleHistory> = new Map(
    DEMO_MARKETS.map((spec) => [spec.symbol, new CandleHistory(spec, Date.now())]),
  );
  private readonly timers: NodeJS.Timeout[] = [];
  private running = false;
  private readonly events: RealtimeEmitter<DemoPayloads>;

  constructor(@Inject(EventEmitter2) emitter: EventEmitter2) {
    this.events = new RealtimeEmitter<DemoPayloads>(emitter);
  }

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
    this.every(PERIOD.funding, () => this.publishFunding());
    for (const market of this.markets) this.scheduleTrade(market);
    this.publishSnapshots();
    // Funding replays its last rate to new subscribers: have one from the start.
    this.publishFunding();
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

  private publishFunding(): void {
    for (const market of this.markets) this.events.emit('funding.rate', market.funding(Date.now()));
  }

  private scheduleTrade(market: SimulatedMarket): void {
    const delay = PERIOD.tradeMin + Math.random() * (PERIOD.tradeMax - PERIOD.tradeMin);
    const timer = setTimeout(() => {
      this.timers.splice(this.timers.indexOf(timer), 1);
      if (!this.running) return;
      const { trade, klines } = market.trade(Date.now());
      this.events.emit(RealtimeEvent.Trade, trade);
      for (const kline of klines) {
        this.candles.get(market.symbol)!.record(kline);
        this.events.emit(RealtimeEvent.KlineUpdate, kline);
      }
      this.scheduleTrade(market);
    }, delay);
    this.timers.push(timer);
  }

  private every(periodMs: number, publish: () => void): void {
    this.timers.push(setInterval(publish, periodMs));
  }
}
