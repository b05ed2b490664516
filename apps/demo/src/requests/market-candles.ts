import { Inject, Injectable } from '@nestjs/common';
import { RequestRefused, type RealtimeRequestHandler, type RelayedRequest } from '#realtime';
import { MAX_CANDLES, type Candle } from '../simulator/candle-history.js';
import { MarketSimulator } from '../simulator/market-simulator.service.js';

/** Candles `market.candles` sends when the request names no `limit`. */
export const DEFAULT_CANDLE_LIMIT = 200;

/** What `market.candles` answers: closed candles, oldest first (the forming one is on `klines`). */
export interface CandlesAnswer {
  symbol: string;
  interval: string;
  candles: Candle[];
}

/**
 * The `market.candles` request's backend: a market's candle history, as an exchange's REST
 * klines endpoint serves it, so a chart draws its past at once and then follows the klines
 * channel. The demo keeps one-minute candles only.
 */
@Injectable()
export class MarketCandles implements RealtimeRequestHandler {
  constructor(@Inject(MarketSimulator) private readonly market: MarketSimulator) {}

  handle(request: RelayedRequest): CandlesAnswer {
    const { symbol, interval, limit } = request.params as {
      symbol: string;
      interval: string;
      limit?: number;
    };
    if (interval !== '1m')
      throw new RequestRefused(
        'UNSUPPORTED_INTERVAL',
        `the demo keeps 1m candles only, got ${interval}`,
      );
    const count = limit ?? DEFAULT_CANDLE_LIMIT;
    if (!Number.isInteger(count) || count < 1 || count > MAX_CANDLES)
      throw new RequestRefused('INVALID_LIMIT', `limit must be 1 to ${MAX_CANDLES}, got ${count}`);
    const history = this.market.candles.get(symbol.toUpperCase());
    if (!history) throw new RequestRefused('UNKNOWN_SYMBOL', `no demo market ${symbol}`);
    return { symbol: symbol.toUpperCase(), interval, candles: history.latest(count) };
  }
}
