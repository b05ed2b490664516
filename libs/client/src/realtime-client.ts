import { io, type Socket } from 'socket.io-client';
import type { Envelope } from '../../realtime/src/broadcast/envelope.js';
import type {
  KlineInterval,
  MarketChannel,
  UserChannel,
} from '../../realtime/src/events/channels.js';
import type {
  RealtimeEventName,
  RealtimeEventPayloads,
} from '../../realtime/src/events/event-catalogue.js';
import { ObservableValue } from './observable-value.js';
import { OrderBookSync, type StaleReason } from './order-book-sync.js';
import { refreshDelay, tokenExpiry } from './token-expiry.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * A public channel per symbol: a built-in one or a host's. A keyed channel takes its key
 * under the key's own name: klines `interval`, a host's e.g. `chain`.
 */
export type MarketSubscription = {
  channel: MarketChannel | (string & {});
  symbol: string;
  interval?: KlineInterval;
} & { [keyField: string]: string | undefined };
/** A private channel of the signed-in user: `user.orders`, or a host's `user.*` channel. */
export type PrivateSubscription = { channel: UserChannel | `user.${string}` };
export type Subscription = MarketSubscription | PrivateSubscription;

/**
 * Event name to payload type: what a client is typed by. The built-in catalogue by default;
 * a host app passes `CataloguePayloads<typeof hostEvents>` (or its `CustomEventPayloads`).
 */
export type PayloadMap = object;

/** Every event a client of `P` can receive: the built-in ones (`tickers.update` too) and P's. */
export type ClientEventName<P extends PayloadMap = RealtimeEventPayloads> =
  RealtimeEventName | (keyof P & string);

/** A host event as delivered: the same envelope as a built-in one, its payload typed by the map. */
export interface CustomEventEnvelope<E extends string = string, D = unknown> {
  channel: string;
  event: E;
  /** The symbol, on public events; absent on private and system events. */
  symbol?: string;
  /** One more for every message this room was sent (see `Envelope`). */
  seq: number;
  /** When the gateway sent it, in milliseconds since the epoch. */
  ts: number;
  /** Present (true) on what a new subscriber gets first (`replayLast` channels). */
  replay?: true;
  /** The payload as published; a keyed event's key is in it too (and beside `symbol`). */
  data: D;
}

/** What `on(event)` hands its handler: a built-in envelope, or a host one typed by `P`. */
export type EventEnvelope<
  P extends PayloadMap = RealtimeEventPayloads,
  E extends ClientEventName<P> = ClientEventName<P>,
> = E extends RealtimeEventName
  ? Envelope<E>
  : CustomEventEnvelope<E, E extends keyof P ? P[E] : never>;

export interface RealtimeClientOptions {
  /** The gateway's origin, e.g. `https://gateway.example.com`. */
  url: string;
  /** Socket.IO namespace. Default `/ws`. */
  namespace?: string;
  /** A token, or a function that fetches a fresh one (called on every connect and before expiry). */
  token?: string | (() => Promise<string>);
  /** How long before a token's `exp` to refresh it. Default 30 s. */
  refreshBeforeMs?: number;
  /** Transports, default WebSocket only (no sticky sessions needed). */
  transports?: Array<'websocket' | 'polling'>;
  /**
   * Take market and private updates in `batch` messages when the gateway has several for a
   * subscription in one turn (fewer frames under load, no added delay). Handlers still get
   * one envelope at a time, in order. Default true.
   */
  batching?: boolean;
}

/** A refusal from the gateway, with its documented code. */
export class RealtimeClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RealtimeClientError';
  }
}

/** A missed message: `seq` jumped from `expected` to `received` on a subscription. */
export interface Gap {
  key: string;
  expected: number;
  received: number;
}

type Reply = { ok: true } & Record<string, unknown>;
/** Any envelope off the wire: a keyed channel's key sits beside `symbol` under its own name. */
type DeliveredEnvelope = CustomEventEnvelope & { readonly [keyField: string]: unknown };
type Refusal = { ok: false; error: { code: string; message: string } };

const ACK_TIMEOUT_MS = 10_000;

/** The field a keyed subscription names its key with (klines `interval`), if any. */
function keyFieldOf(subscription: MarketSubscription): string | undefined {
  for (const field in subscription)
    if (field !== 'channel' && field !== 'symbol' && subscription[field] !== undefined)
      return field;
  return undefined;
}

/** One room, one key: `channel[:SYMBOL[:key]]`, as `keyOfEnvelope` names it for delivery. */
function keyOf(subscription: Subscription): string {
  if (!('symbol' in subscription)) return subscription.channel;
  const field = keyFieldOf(subscription);
  const room = `${subscription.channel}:${subscription.symbol.toUpperCase()}`;
  return field === undefined ? room : `${room}:${subscription[field]}`;
}

/**
 * A client of the gateway for browsers and Node: subscriptions that survive reconnects,
 * tokens refreshed before they run out, typed events, `seq` gap detection and verified
 * order books. Only socket.io-client is needed.
 *
 * Typed by the built-in catalogue; a host app with events of its own passes their payloads:
 * `new RealtimeClient<CataloguePayloads<typeof hostEvents>>({ url })`.
 */
export class RealtimeClient<P extends PayloadMap = RealtimeEventPayloads> {
  /** The connection's state, observable. */
  readonly state = new ObservableValue<ConnectionState>('connecting');
  /** The signed-in user (from the server's greeting), or null. */
  readonly userId = new ObservableValue<string | null>(null);

  private readonly socket: Socket;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly lastSeq = new Map<string, number>();
  private readonly gapListeners = new Set<(gap: Gap) => void>();
  private readonly resubscribeListeners = new Set<() => void>();
  private readonly books = new Map<string, OrderBookSync>();
  private readonly handlers = new Map<string, Set<(envelope: DeliveredEnvelope) => void>>();
  /** A keyed public channel's key field (klines `interval`, a host's e.g. `chain`), by channel. */
  private readonly keyFields = new Map<string, string>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private greeted = false;
  private closed = false;

  constructor(private readonly options: RealtimeClientOptions) {
    const { token } = options;
    const batching = options.batching === false ? {} : { batch: true };
    this.socket = io(options.url + (options.namespace ?? '/ws'), {
      transports: options.transports ?? ['websocket'],
      auth:
        typeof token === 'function'
          ? (callback) =>
              void token().then(
                (fresh) => callback({ token: fresh, ...batching }),
                () => callback(batching),
              )
          : token
            ? { token, ...batching }
            : batching,
    });
    this.socket.on('connected', (greeting: { userId: string | null }) => this.onGreeting(greeting));
    this.socket.on('disconnect', (reason) => this.onDisconnect(reason));
    this.socket.on('connect_error', () => {
      if (!this.closed) this.state.set(this.greeted ? 'reconnecting' : 'connecting');
      // A refused token is not retried by Socket.IO: retry with a fresh one.
      if (!this.socket.active) this.reconnectLater(1000);
    });
    this.socket.on('server.shutdown', ({ reconnectAfterMs }: { reconnectAfterMs: number }) =>
      this.reconnectLater(reconnectAfterMs),
    );
    this.socket.on('auth.expired', () => this.reconnectLater(0));
    this.socket.onAny((event: string, payload: unknown) => {
      if (event !== 'batch') return this.receive(event, payload as DeliveredEnvelope);
      for (const envelope of payload as DeliveredEnvelope[]) this.receive(envelope.event, envelope);
    });
  }

  /** Subscribes; resolves on the gateway's answer, rejects with its code. Kept across reconnects. */
  async subscribe(subscription: Subscription): Promise<Reply> {
    const key = keyOf(subscription);
    // Noted before asking: the room's replayed event can arrive ahead of the answer.
    const forgetKeyField = this.noteKeyField(subscription);
    this.subscriptions.set(key, subscription);
    this.lastSeq.delete(key);
    try {
      return await this.command(
        'symbol' in subscription ? 'subscribe' : 'subscribe.private',
        subscription,
      );
    } catch (error) {
      this.subscriptions.delete(key);
      forgetKeyField();
      throw error;
    }
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    this.subscriptions.delete(keyOf(subscription));
    this.lastSeq.delete(keyOf(subscription));
    await this.command(
      'symbol' in subscription ? 'unsubscribe' : 'unsubscribe.private',
      subscription,
    );
  }

  /** Handles one event, typed by the catalogue (built-in and `P`'s); returns the function that stops it. */
  on<E extends ClientEventName<P>>(
    event: E,
    handler: (envelope: EventEnvelope<P, E>) => void,
  ): () => void {
    const listener = handler as unknown as (envelope: DeliveredEnvelope) => void;
    let handlers = this.handlers.get(event);
    if (!handlers) this.handlers.set(event, (handlers = new Set()));
    handlers.add(listener);
    return () => void handlers.delete(listener);
  }

  /** Told of every `seq` gap (a message that never arrived). */
  onGap(handler: (gap: Gap) => void): () => void {
    this.gapListeners.add(handler);
    return () => this.gapListeners.delete(handler);
  }

  /** Told after every reconnect, once all subscriptions were made again. */
  onResubscribed(handler: () => void): () => void {
    this.resubscribeListeners.add(handler);
    return () => this.resubscribeListeners.delete(handler);
  }

  /**
   * A verified local order book for `symbol`: subscribes, applies snapshot and updates,
   * checks every checksum, and resubscribes by itself when the book cannot be trusted.
   */
  orderBook(symbol: string, maxDepth = Infinity): OrderBookSync {
    const existing = this.books.get(symbol);
    if (existing) return existing;
    const subscription: MarketSubscription = { channel: 'orderbook', symbol };
    const book = new OrderBookSync(
      symbol,
      maxDepth,
      (reason: StaleReason) => void this.resync(book, subscription, reason),
    );
    this.books.set(symbol, book);
    this.on('orderbook.snapshot', (envelope) => book.apply(envelope));
    this.on('orderbook.update', (envelope) => book.apply(envelope));
    void this.subscribe(subscription);
    return book;
  }

  /** Closes the connection and stops every timer and listener. */
  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.reconnectTimer);
    this.socket.removeAllListeners();
    this.socket.offAny();
    this.socket.disconnect();
    this.state.set('closed');
    this.state.clear();
    this.userId.clear();
    this.gapListeners.clear();
    this.resubscribeListeners.clear();
    this.handlers.clear();
  }

  private async command(event: string, payload: unknown): Promise<Reply> {
    const answer = (await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)) as
      Reply | Refusal;
    if (!answer.ok) throw new RealtimeClientError(answer.error.code, answer.error.message);
    return answer;
  }

  private onGreeting({ userId }: { userId: string | null }): void {
    const reconnected = this.greeted;
    this.greeted = true;
    this.userId.set(userId);
    this.state.set('connected');
    this.scheduleRefresh();
    if (!reconnected) return;
    this.lastSeq.clear();
    for (const book of this.books.values()) book.reset();
    void Promise.allSettled([...this.subscriptions.values()].map((s) => this.subscribe(s))).then(
      () => {
        for (const listener of this.resubscribeListeners) listener();
      },
    );
  }

  private onDisconnect(reason: string): void {
    if (this.closed) return;
    this.state.set('reconnecting');
    clearTimeout(this.refreshTimer);
    // Socket.IO reconnects by itself except after the server closed the connection.
    if (reason === 'io server disconnect') this.reconnectLater(1000);
  }

  private reconnectLater(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, delayMs);
  }

  private scheduleRefresh(): void {
    const { token } = this.options;
    clearTimeout(this.refreshTimer);
    if (typeof token !== 'function') return;
    void token().then((current) => {
      const expiresAt = tokenExpiry(current);
      if (expiresAt === undefined || this.closed) return;
      const wait = refreshDelay(expiresAt, Date.now(), this.options.refreshBeforeMs ?? 30_000);
      this.refreshTimer = setTimeout(async () => {
        const next = await token();
        const answer = await this.command('auth.refresh', { token: next }).catch(() => undefined);
        if (answer) this.scheduleRefresh();
      }, wait);
    });
  }

  /** One domain event, alone or out of a batch: checked for a gap, then handed to its handlers. */
  private receive(event: string, envelope: DeliveredEnvelope): void {
    this.track(envelope);
    const handlers = this.handlers.get(event);
    if (handlers) for (const handler of handlers) handler(envelope);
  }

  private track(envelope: DeliveredEnvelope): void {
    if (
      typeof envelope !== 'object' ||
      envelope === null ||
      typeof envelope.seq !== 'number' ||
      !envelope.channel
    )
      return;
    const key = this.keyOfEnvelope(envelope);
    const last = this.lastSeq.get(key);
    this.lastSeq.set(key, envelope.seq);
    if (envelope.replay || last === undefined || envelope.seq === last + 1) return;
    const gap = { key, expected: last + 1, received: envelope.seq };
    for (const listener of this.gapListeners) listener(gap);
  }

  /** Notes the key field of a keyed subscription's channel; returns what undoes it. */
  private noteKeyField(subscription: Subscription): () => void {
    const field = 'symbol' in subscription ? keyFieldOf(subscription) : undefined;
    if (field === undefined) return () => undefined;
    const { channel } = subscription;
    const before = this.keyFields.get(channel);
    this.keyFields.set(channel, field);
    return () =>
      void (before === undefined
        ? this.keyFields.delete(channel)
        : this.keyFields.set(channel, before));
  }

  /** The subscription key of the room `envelope` came from (see `keyOf`). */
  private keyOfEnvelope(envelope: DeliveredEnvelope): string {
    if (envelope.symbol === undefined) return envelope.channel;
    const symbol = envelope.symbol === 'all' ? 'ALL' : envelope.symbol;
    const field = this.keyFields.get(envelope.channel);
    const key = field === undefined ? undefined : envelope[field];
    return key === undefined
      ? `${envelope.channel}:${symbol}`
      : `${envelope.channel}:${symbol}:${String(key)}`;
  }

  private async resync(
    book: OrderBookSync,
    subscription: MarketSubscription,
    _reason: StaleReason,
  ): Promise<void> {
    await this.command('unsubscribe', subscription).catch(() => undefined);
    book.reset();
    this.lastSeq.delete(keyOf(subscription));
    await this.command('subscribe', subscription).catch(() => undefined);
  }
}
