import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import {
  KLINE_INTERVALS,
  type MarketChannel,
  type SystemChannel,
  type UserChannel,
} from './channels.js';
import type { RoutingKey } from './custom-events.js';
import {
  optional,
  required,
  requiredList,
  type InferPayload,
  type PayloadSchema,
} from './payload-schema.js';

/**
 * The event catalogue: the one place event names, their channels, how their rooms are
 * derived and what their payloads must look like are written down. The gateway, the
 * broadcast service, every ingress, the client SDK types and the docs read it.
 */
export const RealtimeEvent = {
  TickerUpdate: 'ticker.update',
  TickersUpdate: 'tickers.update',
  OrderBookSnapshot: 'orderbook.snapshot',
  OrderBookUpdate: 'orderbook.update',
  Trade: 'trade',
  KlineUpdate: 'kline.update',
  OrderCreated: 'order.created',
  OrderFilled: 'order.filled',
  OrderCancelled: 'order.cancelled',
  OrderExpired: 'order.expired',
  TradeExecuted: 'trade.executed',
  BalanceUpdated: 'balance.updated',
  BalanceLocked: 'balance.locked',
  BalanceUnlocked: 'balance.unlocked',
  DepositDetected: 'deposit.detected',
  DepositConfirmed: 'deposit.confirmed',
  DepositCredited: 'deposit.credited',
  PositionUpdate: 'position.update',
  PositionLiquidated: 'position.liquidated',
  MarginCall: 'margin.call',
  SystemAlert: 'system.alert',
} as const;
export type RealtimeEventName = (typeof RealtimeEvent)[keyof typeof RealtimeEvent];

/**
 * How an event finds its room:
 * - `symbol`: `{channel}:{data.symbol}`
 * - `symbolKey`: `{channel}:{data.symbol}:{data[key.field]}` (klines: by `interval`)
 * - `allSymbols`: `ticker:all`
 * - `user`: `user:{data.userId}:{channel without "user."}`
 * - `everyone`: every connection of the namespace.
 */
export type Routing = 'symbol' | 'symbolKey' | 'allSymbols' | 'user' | 'everyone';

interface EventDefinitionBase<S extends PayloadSchema> {
  readonly event: RealtimeEventName;
  /** Built by the gateway from other events; never accepted from an ingress. */
  readonly builtByGateway?: boolean;
  /** Each one supersedes the last (latest value wins): skipped first for slow consumers. */
  readonly conflatable?: boolean;
  readonly schema: S;
  /** A check across fields, run once the schema passed: why the payload is wrong, or null. */
  readonly refine?: (payload: Readonly<Record<string, unknown>>) => string | null;
  /** For `symbolKey` routing: the payload field that is the room's second part. */
  readonly key?: RoutingKey;
}

export interface MarketEventDefinition<
  S extends PayloadSchema = PayloadSchema,
> extends EventDefinitionBase<S> {
  readonly channel: MarketChannel;
  readonly routing: 'symbol' | 'symbolKey' | 'allSymbols';
}

export interface UserEventDefinition<
  S extends PayloadSchema = PayloadSchema,
> extends EventDefinitionBase<S> {
  readonly channel: UserChannel;
  readonly routing: 'user';
}

export interface SystemEventDefinition<
  S extends PayloadSchema = PayloadSchema,
> extends EventDefinitionBase<S> {
  readonly channel: SystemChannel;
  readonly routing: 'everyone';
}

/** A built-in event. */
export type EventDefinition<S extends PayloadSchema = PayloadSchema> =
  MarketEventDefinition<S> | UserEventDefinition<S> | SystemEventDefinition<S>;

/** Klines' rooms: one per symbol and interval. */
export const KLINES_KEY: RoutingKey = {
  field: 'interval',
  values: KLINE_INTERVALS,
  invalidCode: RealtimeErrorCode.InvalidInterval,
};

const tickerSchema = {
  symbol: required('symbol'),
  lastPrice: optional('decimal'),
  bidPrice: optional('decimal'),
  askPrice: optional('decimal'),
  openPrice: optional('decimal'),
  highPrice: optional('decimal'),
  lowPrice: optional('decimal'),
  volume: optional('decimal'),
  quoteVolume: optional('decimal'),
  priceChange: optional('decimal'),
  priceChangePercent: optional('decimal'),
  timestamp: optional('integer'),
} as const;

const orderBookSnapshotSchema = {
  symbol: required('symbol'),
  lastUpdateId: required('integer'),
  bids: required('levels'),
  asks: required('levels'),
  timestamp: optional('integer'),
} as const;

const orderBookUpdateSchema = {
  symbol: required('symbol'),
  firstUpdateId: required('integer'),
  lastUpdateId: required('integer'),
  bids: required('levels'),
  asks: required('levels'),
  timestamp: optional('integer'),
} as const;

const tradeSchema = {
  symbol: required('symbol'),
  tradeId: optional('id'),
  price: optional('decimal'),
  quantity: optional('decimal'),
  side: optional('side'),
  timestamp: optional('integer'),
} as const;

const klineSchema = {
  symbol: required('symbol'),
  interval: required('interval'),
  openTime: optional('integer'),
  closeTime: optional('integer'),
  open: optional('decimal'),
  high: optional('decimal'),
  low: optional('decimal'),
  close: optional('decimal'),
  volume: optional('decimal'),
  closed: optional('boolean'),
} as const;

const orderSchema = {
  userId: required('id'),
  orderId: optional('id'),
  symbol: optional('symbol'),
  side: optional('side'),
  type: optional('string'),
  status: optional('string'),
  price: optional('decimal'),
  quantity: optional('decimal'),
  filledQuantity: optional('decimal'),
  timestamp: optional('integer'),
} as const;

const userTradeSchema = {
  userId: required('id'),
  tradeId: optional('id'),
  orderId: optional('id'),
  symbol: optional('symbol'),
  side: optional('side'),
  price: optional('decimal'),
  quantity: optional('decimal'),
  fee: optional('decimal'),
  feeAsset: optional('string'),
  timestamp: optional('integer'),
} as const;

const balanceSchema = {
  userId: required('id'),
  asset: optional('string'),
  free: optional('decimal'),
  locked: optional('decimal'),
  timestamp: optional('integer'),
} as const;

const depositSchema = {
  userId: required('id'),
  depositId: optional('id'),
  asset: optional('string'),
  amount: optional('decimal'),
  network: optional('string'),
  txId: optional('string'),
  confirmations: optional('integer'),
  requiredConfirmations: optional('integer'),
  timestamp: optional('integer'),
} as const;

const positionSchema = {
  userId: required('id'),
  symbol: optional('symbol'),
  size: optional('decimal'),
  entryPrice: optional('decimal'),
  markPrice: optional('decimal'),
  liquidationPrice: optional('decimal'),
  unrealizedPnl: optional('decimal'),
  marginRatio: optional('decimal'),
  timestamp: optional('integer'),
} as const;

const systemAlertSchema = {
  message: required('string'),
  level: optional('string'),
  timestamp: optional('integer'),
} as const;

/** Most tickers one `tickers.update` may carry. */
export const MAX_TICKERS_PER_UPDATE = 10_000;

const tickersSchema = {
  tickers: requiredList(tickerSchema, MAX_TICKERS_PER_UPDATE),
  timestamp: optional('integer'),
} as const;

function market<S extends PayloadSchema>(
  event: RealtimeEventName,
  channel: MarketChannel,
  routing: MarketEventDefinition['routing'],
  schema: S,
  refine?: EventDefinition['refine'],
): MarketEventDefinition<S> {
  return { event, channel, routing, schema, refine };
}

function user<S extends PayloadSchema>(
  event: RealtimeEventName,
  channel: UserChannel,
  schema: S,
): UserEventDefinition<S> {
  return { event, channel, routing: 'user', schema };
}

const E = RealtimeEvent;

const definitions = {
  [E.TickerUpdate]: {
    ...market(E.TickerUpdate, 'ticker', 'symbol', tickerSchema),
    conflatable: true,
  },
  [E.TickersUpdate]: {
    ...market(E.TickersUpdate, 'ticker', 'allSymbols', tickersSchema),
    builtByGateway: true,
    conflatable: true,
  },
  [E.OrderBookSnapshot]: market(
    E.OrderBookSnapshot,
    'orderbook',
    'symbol',
    orderBookSnapshotSchema,
  ),
  [E.OrderBookUpdate]: market(
    E.OrderBookUpdate,
    'orderbook',
    'symbol',
    orderBookUpdateSchema,
    (p) =>
      (p.lastUpdateId as number) < (p.firstUpdateId as number)
        ? 'data.lastUpdateId must not be below data.firstUpdateId'
        : null,
  ),
  [E.Trade]: market(E.Trade, 'trades', 'symbol', tradeSchema),
  [E.KlineUpdate]: {
    ...market(E.KlineUpdate, 'klines', 'symbolKey', klineSchema),
    key: KLINES_KEY,
    conflatable: true,
  },
  [E.OrderCreated]: user(E.OrderCreated, 'user.orders', orderSchema),
  [E.OrderFilled]: user(E.OrderFilled, 'user.orders', orderSchema),
  [E.OrderCancelled]: user(E.OrderCancelled, 'user.orders', orderSchema),
  [E.OrderExpired]: user(E.OrderExpired, 'user.orders', orderSchema),
  [E.TradeExecuted]: user(E.TradeExecuted, 'user.trades', userTradeSchema),
  [E.BalanceUpdated]: user(E.BalanceUpdated, 'user.balances', balanceSchema),
  [E.BalanceLocked]: user(E.BalanceLocked, 'user.balances', balanceSchema),
  [E.BalanceUnlocked]: user(E.BalanceUnlocked, 'user.balances', balanceSchema),
  [E.DepositDetected]: user(E.DepositDetected, 'user.deposits', depositSchema),
  [E.DepositConfirmed]: user(E.DepositConfirmed, 'user.deposits', depositSchema),
  [E.DepositCredited]: user(E.DepositCredited, 'user.deposits', depositSchema),
  [E.PositionUpdate]: user(E.PositionUpdate, 'user.positions', positionSchema),
  [E.PositionLiquidated]: user(E.PositionLiquidated, 'user.positions', positionSchema),
  [E.MarginCall]: user(E.MarginCall, 'user.positions', positionSchema),
  [E.SystemAlert]: {
    event: E.SystemAlert,
    channel: 'system',
    routing: 'everyone',
    schema: systemAlertSchema,
  } as SystemEventDefinition<typeof systemAlertSchema>,
} satisfies { [K in RealtimeEventName]: EventDefinition };

type Definitions = typeof definitions;

/** The payload type of each event, as host services emit it and clients receive it in `data`. */
export type RealtimeEventPayloads = {
  [K in RealtimeEventName]: Definitions[K] extends EventDefinition<infer S>
    ? InferPayload<S>
    : never;
};

/** Every event of the catalogue, by name. */
export const EVENT_CATALOGUE: ReadonlyMap<string, EventDefinition> = new Map(
  Object.values(definitions).map((definition) => [definition.event, definition as EventDefinition]),
);

export function eventDefinition(event: string): EventDefinition | undefined {
  return EVENT_CATALOGUE.get(event);
}
