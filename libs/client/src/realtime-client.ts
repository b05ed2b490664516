import { io, type Socket } from 'socket.io-client';
import type { Envelope } from '../../realtime/src/broadcast/envelope.js';
import type {
  KlineInterval,
  MarketChannel,
  UserChannel,
} from '../../realtime/src/events/channels.js';
import type { RealtimeEventName } from '../../realtime/src/events/event-catalogue.js';
import { ObservableValue } from './observable-value.js';
import { OrderBookSync, type StaleReason } from './order-book-sync.js';
import { tokenExpiry } from './token-expiry.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export type MarketSubscription = {
  channel: MarketChannel;
  symbol: string;
  interval?: KlineInterval;
};
export type PrivateSubscription = { channel: UserChannel };
export type Subscription = MarketSubscription | PrivateSubscription;

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
type Refusal = { ok: false; error: { code: string; message: string } };

const ACK_TIMEOUT_MS = 10_000;

function keyOf(subscription: Subscription): string {
  return 'symbol' in subscription
    ? `${subscription.channel}:${subscription.symbol.toUpperCase()}${subscription.interval ? ':' + subscription.interval : ''}`
    : subscription.channel;
}

function keyOfEnvelope(envelope: Envelope): string {
  if (envelope.symbol === undefined) return envelope.channel;
  const symbol = envelope.symbol === 'all' ? 'ALL' : envelope.symbol;
  return `${envelope.channel}:${symbol}${envelope.interval ? ':' + envelope.interval : ''}`;
}

/**
 * A client of the gateway for browsers and Node: subscriptions that survive reconnects,
 * tokens refreshed before they run out, typed events, `seq` gap detection and verified
 * order books. Only socket.io-client is needed.
 */
export class RealtimeClient {
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
  private readonly handlers = new Map<string, Set<(envelope: Envelope) => void>>();
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
      if (event !== 'batch') return this.receive(event, payload as Envelope);
      for (const envelope of payload as Envelope[]) this.receive(envelope.event, envelope);
    });
  }

  /** Subscribes; resolves on the gateway's answer, rejects with its code. Kept across reconnects. */
  async subscribe(subscription: Subscription): Promise<Reply> {
    this.subscriptions.set(keyOf(subscription), subscription);
    this.lastSeq.delete(keyOf(subscription));
    try {
      return await this.command(
        'symbol' in subscription ? 'subscribe' : 'subscribe.private',
        subscription,
      );
    } catch (error) {
      this.subscriptions.delete(keyOf(subscription));
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

  /** Handles one event, typed by the catalogue; returns the function that stops it. */
  on<E extends RealtimeEventName>(event: E, handler: (envelope: Envelope<E>) => void): () => void {
    const listener = handler as (envelope: Envelope) => void;
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
      const wait = Math.max(0, expiresAt - Date.now() - (this.options.refreshBeforeMs ?? 30_000));
      this.refreshTimer = setTimeout(async () => {
        const next = await token();
        const answer = await this.command('auth.refresh', { token: next }).catch(() => undefined);
        if (answer) this.scheduleRefresh();
      }, wait);
    });
  }

  /** One domain event, alone or out of a batch: checked for a gap, then handed to its handlers. */
  private receive(event: string, envelope: Envelope): void {
    this.track(envelope);
    const handlers = this.handlers.get(event);
    if (handlers) for (const handler of handlers) handler(envelope);
  }

  private track(envelope: Envelope): void {
    if (
      typeof envelope !== 'object' ||
      envelope === null ||
      typeof envelope.seq !== 'number' ||
      !envelope.channel
    )
      return;
    const key = keyOfEnvelope(envelope);
    const last = this.lastSeq.get(key);
    this.lastSeq.set(key, envelope.seq);
    if (envelope.replay || last === undefined || envelope.seq === last + 1) return;
    const gap = { key, expected: last + 1, received: envelope.seq };
    for (const listener of this.gapListeners) listener(gap);
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
