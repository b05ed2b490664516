import type { RealtimeEventPayloads } from '#realtime';
import type { DemoPayloads } from './demo-events.js';

export interface MarketSpec {
  symbol: string;
  /** Starting mid price, in ticks. */
  startTicks: number;
  /** Price step, e.g. 0.01. */
  tick: number;
  priceDecimals: number;
  /** Standard deviation of one price step, in ticks. */
  stepTicks: number;
}

export const DEMO_MARKETS: readonly MarketSpec[] = [
  { symbol: 'BTCUSDT', startTicks: 130_000, tick: 0.5, priceDecimals: 1, stepTicks: 4 },
  { symbol: 'ETHUSDT', startTicks: 70_000, tick: 0.05, priceDecimals: 2, stepTicks: 3 },
  { symbol: 'SOLUSDT', startTicks: 15_000, tick: 0.01, priceDecimals: 2, stepTicks: 2 },
];

/** Levels kept next to the mid on each side, and the most kept at all. */
const NEAR_LEVELS = 20;
const MAX_LEVELS = 50;
const MINUTE = 60_000;
/** Funding is charged every 8 hours, on the hour (00:00, 08:00, 16:00 UTC). */
const FUNDING_INTERVAL = 8 * 60 * MINUTE;
/** The rate funding returns to: 0.01% per 8 hours, the usual baseline of perpetuals. */
const BASE_FUNDING_RATE = 0.0001;
/** Venues cap funding; so does the demo, at 0.75% either way. */
const MAX_FUNDING_RATE = 0.0075;

type Level = [price: string, quantity: string];
type Kline = RealtimeEventPayloads['kline.update'];

/**
 * One simulated market: a random-walk mid price, an order book kept around it, trades at
 * the touch and a one-minute kline. Pure state; the simulator service drives the clock.
 */
export class SimulatedMarket {
  private midTicks: number;
  private readonly bids = new Map<number, string>();
  private readonly asks = new Map<number, string>();
  private updateId = 0;
  private tradeId = 0;
  private lastTradeTicks: number;
  private highTicks: number;
  private lowTicks: number;
  private volume = 0;
  private quoteVolume = 0;
  private kline: Kline | undefined;
  private fundingRate = BASE_FUNDING_RATE;

  constructor(
    readonly spec: MarketSpec,
    private readonly random: () => number = Math.random,
  ) {
    this.midTicks = spec.startTicks;
    this.lastTradeTicks = this.highTicks = this.lowTicks = spec.startTicks;
    this.bookUpdate();
  }

  get symbol(): string {
    return this.spec.symbol;
  }

  /** The price of the last trade. */
  get lastPrice(): string {
    return this.price(this.lastTradeTicks);
  }

  /** Moves the mid price one random step. */
  walk(): void {
    this.midTicks = Math.max(
      NEAR_LEVELS + 1,
      this.midTicks + Math.round(this.gaussian() * this.spec.stepTicks),
    );
  }

  /**
   * The next funding rate: drawn back to the baseline, pushed up while the price is above
   * where it started (longs pay shorts when the perpetual trades rich), plus some noise.
   */
  funding(now: number): DemoPayloads['funding.rate'] {
    const premium = (this.lastTradeTicks - this.spec.startTicks) / this.spec.startTicks;
    const target = BASE_FUNDING_RATE + premium * 0.01;
    const next = this.fundingRate + (target - this.fundingRate) * 0.2 + this.gaussian() * 0.00002;
    this.fundingRate = Math.min(MAX_FUNDING_RATE, Math.max(-MAX_FUNDING_RATE, next));
    return {
      symbol: this.symbol,
      // Rounded first: a tiny negative rate would print as "-0.000000".
      rate: (Math.round(this.fundingRate * 1e6) / 1e6).toFixed(6),
      nextFundingTime: (Math.floor(now / FUNDING_INTERVAL) + 1) * FUNDING_INTERVAL,
      timestamp: now,
    };
  }

  ticker(now: number): RealtimeEventPayloads['ticker.update'] {
    const change = this.lastTradeTicks - this.spec.startTicks;
    return {
      symbol: this.symbol,
      lastPrice: this.price(this.lastTradeTicks),
      bidPrice: this.price(this.bestBid()),
      askPrice: this.price(this.bestAsk()),
      openPrice: this.price(this.spec.startTicks),
      highPrice: this.price(this.highTicks),
      lowPrice: this.price(this.lowTicks),
      volume: this.volume.toFixed(4),
      quoteVolume: this.quoteVolume.toFixed(2),
      priceChange: this.price(change),
      priceChangePercent: ((change / this.spec.startTicks) * 100).toFixed(2),
      timestamp: now,
    };
  }

  snapshot(now: number): RealtimeEventPayloads['orderbook.snapshot'] {
    return {
      symbol: this.symbol,
      lastUpdateId: this.updateId,
      bids: this.levels(this.bids, [...this.bids.keys()], 'desc'),
      asks: this.levels(this.asks, [...this.asks.keys()], 'asc'),
      timestamp: now,
    };
  }

  /** Re-centres the book on the mid and changes a few quantities; absolute quantities, "0" removes. */
  bookUpdate(now = Date.now()): RealtimeEventPayloads['orderbook.update'] {
    const changed = { bids: new Set<number>(), asks: new Set<number>() };
    const set = (side: 'bids' | 'asks', ticks: number, quantity: string | undefined) => {
      const book = this[side];
      if (quantity === undefined) book.delete(ticks);
      else book.set(ticks, quantity);
      changed[side].add(ticks);
    };
    for (const ticks of this.bids.keys()) {
      if (ticks >= this.midTicks || ticks < this.midTicks - MAX_LEVELS)
        set('bids', ticks, undefined);
    }
    for (const ticks of this.asks.keys()) {
      if (ticks <= this.midTicks || ticks > this.midTicks + MAX_LEVELS)
        set('asks', ticks, undefined);
    }
    for (let k = 1; k <= NEAR_LEVELS; k++) {
      if (!this.bids.has(this.midTicks - k)) set('bids', this.midTicks - k, this.quantity());
      if (!this.asks.has(this.midTicks + k)) set('asks', this.midTicks + k, this.quantity());
    }
    for (let i = 0; i < 3; i++) {
      const side = this.random() < 0.5 ? 'bids' : 'asks';
      const ticks =
        side === 'bids'
          ? this.midTicks - 1 - this.int(MAX_LEVELS)
          : this.midTicks + 1 + this.int(MAX_LEVELS);
      set(
        side,
        ticks,
        this.random() < 0.2 && Math.abs(ticks - this.midTicks) > NEAR_LEVELS
          ? undefined
          : this.quantity(),
      );
    }
    const count = changed.bids.size + changed.asks.size;
    const firstUpdateId = this.updateId + 1;
    this.updateId += count;
    return {
      symbol: this.symbol,
      firstUpdateId,
      lastUpdateId: this.updateId,
      bids: this.levels(this.bids, [...changed.bids], 'desc'),
      asks: this.levels(this.asks, [...changed.asks], 'asc'),
      timestamp: now,
    };
  }

  /** A trade at the touch; returns it with the kline updates it caused (a closed one first at a minute's turn). */
  trade(now: number): { trade: RealtimeEventPayloads['trade']; klines: Kline[] } {
    const side = this.random() < 0.5 ? 'buy' : 'sell';
    const ticks = side === 'buy' ? this.bestAsk() : this.bestBid();
    const quantity = Number(this.quantity());
    const price = this.price(ticks);
    this.lastTradeTicks = ticks;
    this.highTicks = Math.max(this.highTicks, ticks);
    this.lowTicks = Math.min(this.lowTicks, ticks);
    this.volume += quantity;
    this.quoteVolume += quantity * ticks * this.spec.tick;
    const klines: Kline[] = [];
    const openTime = Math.floor(now / MINUTE) * MINUTE;
    if (this.kline && this.kline.openTime !== openTime) {
      klines.push({ ...this.kline, closed: true });
      this.kline = undefined;
    }
    const kline = (this.kline ??= {
      symbol: this.symbol,
      interval: '1m',
      openTime,
      closeTime: openTime + MINUTE - 1,
      open: price,
      high: price,
      low: price,
      close: price,
      volume: '0',
      closed: false,
    });
    kline.high = Number(price) > Number(kline.high) ? price : kline.high;
    kline.low = Number(price) < Number(kline.low) ? price : kline.low;
    kline.close = price;
    kline.volume = (Number(kline.volume) + quantity).toFixed(4);
    klines.push({ ...kline });
    const trade = {
      symbol: this.symbol,
      tradeId: ++this.tradeId,
      price,
      quantity: quantity.toFixed(4),
      side,
      timestamp: now,
    } as const;
    return { trade, klines };
  }

  private bestBid(): number {
    return Math.max(...this.bids.keys());
  }

  private bestAsk(): number {
    return Math.min(...this.asks.keys());
  }

  private levels(book: Map<number, string>, ticks: number[], order: 'asc' | 'desc'): Level[] {
    ticks.sort((a, b) => (order === 'asc' ? a - b : b - a));
    return ticks.map((t) => [this.price(t), book.get(t) ?? '0']);
  }

  private price(ticks: number): string {
    return (ticks * this.spec.tick).toFixed(this.spec.priceDecimals);
  }

  private quantity(): string {
    return (0.001 + this.random() * 2).toFixed(4);
  }

  /** A standard normal draw (Box-Muller). */
  private gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
  }

  private int(below: number): number {
    return Math.floor(this.random() * below);
  }
}
