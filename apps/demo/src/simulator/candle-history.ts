import type { RealtimeEventPayloads } from '#realtime';
import type { MarketSpec } from './simulated-market.js';

/** A one-minute candle as the klines channel carries it, its openTime always set. */
export type Candle = RealtimeEventPayloads['kline.update'] & { openTime: number };

const MINUTE = 60_000;
/** Closed one-minute candles kept per market: about eight hours, a few hundred KB for all. */
export const MAX_CANDLES = 500;
/** Minutes of made-up past a market starts with, so a chart has something to show at once. */
export const BACKFILL_MINUTES = 240;
/** Ticker steps in one minute (a step every 250 ms): scales the made-up minutes' moves. */
const STEPS_PER_MINUTE = 240;

/**
 * A market's closed one-minute candles, oldest first, at most `MAX_CANDLES` (the oldest go):
 * what an exchange's REST klines endpoint serves. It starts with `BACKFILL_MINUTES` of
 * random-walk past that ends at the market's start price, then takes every candle the
 * simulator closes. The forming candle is not here: it is the klines channel's current state.
 */
export class CandleHistory {
  private readonly candles: Candle[] = [];

  constructor(
    private readonly spec: MarketSpec,
    now: number,
    private readonly random: () => number = Math.random,
  ) {
    this.backfill(Math.floor(now / MINUTE) * MINUTE);
  }

  /** Keeps a candle the simulator closed (a later one with the same openTime replaces it). */
  record(kline: RealtimeEventPayloads['kline.update']): void {
    if (!kline.closed || kline.openTime === undefined) return;
    const candle = kline as Candle;
    const last = this.candles.at(-1);
    if (last && last.openTime === candle.openTime) this.candles[this.candles.length - 1] = candle;
    else if (!last || last.openTime < candle.openTime) this.candles.push(candle);
    if (this.candles.length > MAX_CANDLES)
      this.candles.splice(0, this.candles.length - MAX_CANDLES);
  }

  /** The latest `limit` closed candles, oldest first. */
  latest(limit: number): Candle[] {
    return this.candles.slice(-limit);
  }

  /**
   * Walks backwards from the start price, one close per minute, so the made-up past joins the
   * live candles without a jump; highs and lows reach a little past the open and close.
   */
  private backfill(firstLiveMinute: number): void {
    const { tick, priceDecimals, stepTicks } = this.spec;
    const minuteStep = stepTicks * Math.sqrt(STEPS_PER_MINUTE);
    const price = (ticks: number) => (Math.max(1, ticks) * tick).toFixed(priceDecimals);
    let close = this.spec.startTicks;
    const made: Candle[] = [];
    for (let k = 1; k <= BACKFILL_MINUTES; k++) {
      const open = Math.round(close - this.gaussian() * minuteStep);
      const high = Math.max(open, close) + Math.round(Math.abs(this.gaussian()) * minuteStep * 0.4);
      const low = Math.min(open, close) - Math.round(Math.abs(this.gaussian()) * minuteStep * 0.4);
      const openTime = firstLiveMinute - k * MINUTE;
      made.push({
        symbol: this.spec.symbol,
        interval: '1m',
        openTime,
        closeTime: openTime + MINUTE - 1,
        open: price(open),
        high: price(high),
        low: price(low),
        close: price(close),
        volume: (20 + this.random() * 120).toFixed(4),
        closed: true,
      });
      close = open;
    }
    this.candles.push(...made.reverse());
  }

  /** A standard normal draw (Box-Muller). */
  private gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
  }
}
