/** Public market channels a client may subscribe to with `subscribe`. */
export const MARKET_CHANNELS = ['ticker', 'orderbook', 'trades', 'klines'] as const;
export type MarketChannel = (typeof MARKET_CHANNELS)[number];

/** Private channels a signed-in client may subscribe to with `subscribe.private`. */
export const USER_CHANNELS = [
  'user.orders',
  'user.trades',
  'user.balances',
  'user.deposits',
  'user.positions',
] as const;
export type UserChannel = (typeof USER_CHANNELS)[number];

/** Events for every connection, with no subscription. */
export const SYSTEM_CHANNEL = 'system';
export type SystemChannel = typeof SYSTEM_CHANNEL;

export type Channel = MarketChannel | UserChannel | SystemChannel;

/** Kline intervals, case-sensitive: `1m` is a minute, `1M` a month. */
export const KLINE_INTERVALS = [
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '4h',
  '1d',
  '1w',
  '1M',
] as const;
export type KlineInterval = (typeof KLINE_INTERVALS)[number];

/** The ticker subscription symbol that means every symbol, delivered as `tickers.update`. */
export const ALL_SYMBOLS = 'all';

const marketChannels: ReadonlySet<string> = new Set(MARKET_CHANNELS);
const userChannels: ReadonlySet<string> = new Set(USER_CHANNELS);
const klineIntervals: ReadonlySet<string> = new Set(KLINE_INTERVALS);

export function isMarketChannel(value: unknown): value is MarketChannel {
  return typeof value === 'string' && marketChannels.has(value);
}

export function isUserChannel(value: unknown): value is UserChannel {
  return typeof value === 'string' && userChannels.has(value);
}

export function isKlineInterval(value: unknown): value is KlineInterval {
  return typeof value === 'string' && klineIntervals.has(value);
}
