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
import { FEED_FIELDS, sameFeed, type BookDepth, type FeedRate } from './market-feed.js';
import { ObservableValue } from './observable-value.js';
import { OrderBookSync, type StaleReason } from './order-book-sync.js';
import {
  StreamPositions,
  positionOf,
  type AnsweredRecovery,
  type Gap,
  type RecoveryAnswer,
  type RecoveryReason,
  type StreamPosition,
} from './stream-positions.js';
import { refreshDelay, tokenExpiry } from './token-expiry.js';
import {
  DEFAULT_MAX_PENDING_REQUESTS,
  PendingRequests,
  type RequestAnswer,
  type RequestOptions,
} from './pending-requests.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * A public channel per symbol: a built-in one or a host's. A keyed channel takes its key
 * under the key's own name: klines `interval`, a host's e.g. `chain`.
 *
 * `rate` and `depth` choose the room's feed, not the room: how often its messages come
 * (`realtime`, the default, is every one; otherwise the latest per window, or trades in one
 * `batch` per window) and, on `orderbook` only, how many levels of each side it holds. A
 * connection has one subscription per room: subscribing again with another rate or depth
 * switches it (the gateway replays the current state, then sends the new feed).
 */
export type MarketSubscription = {
  channel: MarketChannel | (string & {});
  symbol: string;
  interval?: KlineInterval;
  rate?: FeedRate;
  depth?: BookDepth;
} & { [keyField: string]: string | number | undefined };
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
  /** The room's stream position of this message: one more for every message of the room. */
  offset: number;
  /** The room's stream; a new epoch means the stream was reset (see `StreamPosition`). */
  epoch: string;
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
  /**
   * How many `request()` calls may wait for their answer at once; past it `request()`
   * rejects `TOO_MANY_PENDING` at once. Default 100.
   */
  maxPendingRequests?: number;
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

/**
 * What became of one subscription's missed messages: after a reconnect (`cause: 'reconnect'`,
 * the client resubscribed with `since` = the last position it knew), or when a live message
 * came from a new epoch of the room's stream (`cause: 'reset'`, reason `epoch_changed`).
 *
 * - `recovered: true`: the `missed` messages the connection did not get follow, to the `on`
 *   handlers, in order and exactly once, before any live one. Nothing to do.
 * - `recovered: false`: they are gone. Public channels get their current state replayed
 *   (`replay: true`: snapshot, last ticker, last kline, recent trades); for private channels
 *   refetch what you show from your REST API.
 */
export interface Recovery {
  /** The subscription (room) key, `channel[:SYMBOL[:key]]`. */
  key: string;
  subscription: Subscription;
  cause: 'reconnect' | 'reset';
  recovered: boolean;
  /** Why not, when not recovered. */
  reason?: RecoveryReason;
  /** How many missed messages follow, when recovered (and the gateway said where it is). */
  missed?: number;
  /** The position the client resubscribed from, if it knew one. */
  since?: StreamPosition;
  /** The room's position the gateway answered with (or of the message of the new epoch). */
  position?: StreamPosition;
  /** When the client learned it, in milliseconds since the epoch. */
  at: number;
}

/**
 * Whether what `recovery`'s subscription missed is gone for good, so whatever was built from
 * it must be refetched: it was not recovered, and no replay stands in for it. A public
 * channel without history (`history_off`: tickers, klines, ...) gets its current state
 * replayed, which is all it ever promises, and an order book a fresh snapshot; private
 * channels replay nothing.
 */
export function isLost(recovery: Recovery): boolean {
  if (recovery.recovered) return false;
  if (!('symbol' in recovery.subscription)) return true;
  if (recovery.subscription.channel === 'orderbook') return false;
  return recovery.reason !== 'history_off';
}

/** The outcome of one reconnect, once every subscription was made again. */
export interface ReconnectRecovery {
  at: number;
  /** True when nothing is lost (see `isLost`): every subscription recovered or was restored. */
  recovered: boolean;
  /** Messages recovered, over every subscription. */
  missed: number;
  /** Every resubscribed subscription's outcome. */
  subscriptions: Recovery[];
  /** Those whose missed messages are gone (`isLost`): refetch what you built from them. */
  lost: Recovery[];
}

type Reply = { ok: true } & Record<string, unknown>;
/** A `subscribe` answer: the room's position, and with `since`, whether it recovered. */
export type SubscribeAnswer = Reply & {
  position?: StreamPosition;
  recovered?: boolean;
  reason?: RecoveryReason;
  /** The feed, echoed: `rate` when not realtime, `depth` when given. */
  rate?: FeedRate;
  depth?: BookDepth;
  /** The feed skips offsets (a rate, a partial book): the client tells no gap for a jump. */
  conflated?: boolean;
};

/**
 * What `orderBook(symbol, options)` follows: the feed (`rate`, `depth`: see
 * `MarketSubscription`) and `maxDepth`, the levels kept per side of a whole book.
 */
export interface OrderBookOptions {
  rate?: FeedRate;
  depth?: BookDepth;
  maxDepth?: number;
}
/** Any envelope off the wire: a keyed channel's key sits beside `symbol` under its own name. */
type DeliveredEnvelope = CustomEventEnvelope & { readonly [keyField: string]: unknown };
type Refusal = { ok: false; error: { code: string; message: string } };

const ACK_TIMEOUT_MS = 10_000;
/**
 * How long one sent request's ack is kept: past the gateway's longest wait for a backend
 * (60 s). `request()`'s own deadline rejects it earlier; a lost connection drops the ack.
 */
const REQUEST_ACK_TIMEOUT_MS = 65_000;

/** The field a keyed subscription names its key with (klines `interval`), if any. */
function keyFieldOf(subscription: MarketSubscription): string | undefined {
  for (const field in subscription)
    if (
      field !== 'channel' &&
      field !== 'symbol' &&
      !FEED_FIELDS.has(field) &&
      subscription[field] !== undefined
    )
      return field;
  return undefined;
}

/**
 * One room, one key: `channel[:SYMBOL[:key]]`, as `keyOfEnvelope` names it for delivery. The
 * feed (`rate`, `depth`) is no part of it: it is one subscription whatever its feed.
 */
export function subscriptionKey(subscription: Subscription): string {
  if (!('symbol' in subscription)) return subscription.channel;
  const field = keyFieldOf(subscription);
  const room = `${subscription.channel}:${subscription.symbol.toUpperCase()}`;
  return field === undefined ? room : `${room}:${subscription[field]}`;
}

/** The subscription of `symbol`'s order book at `feed`: only the fields given (none: realtime, whole). */
function bookSubscription(symbol: string, feed: OrderBookOptions = {}): MarketSubscription {
  const subscription: MarketSubscription = { channel: 'orderbook', symbol };
  if (feed.rate !== undefined) subscription.rate = feed.rate;
  if (feed.depth !== undefined) subscription.depth = feed.depth;
  return subscription;
}

/**
 * A client of the gateway for browsers and Node: subscriptions that survive reconnects with
 * nothing lost (each resubscribes from the last stream position it got, and the gateway sends
 * what was missed), tokens refreshed before they run out, typed events, gap detection and
 * verified order books. Only socket.io-client is needed.
 *
 * Typed by the built-in catalogue; a host app with events of its own passes their payloads:
 * `new RealtimeClient<CataloguePayloads<typeof hostEvents>>({ url })`.
 */
export class RealtimeClient<P extends PayloadMap = RealtimeEventPayloads> {
  /** The connection's state, observable. */
  readonly state = new ObservableValue<ConnectionState>('connecting');
  /** The signed-in user (from the server's greeting), or null. */
  readonly userId = new ObservableValue<string | null>(null);
  /** The last reconnect's outcome (null before the first reconnect), observable. */
  readonly lastReconnect = new ObservableValue<ReconnectRecovery | null>(null);
  /** Each subscription's latest `Recovery`, by subscription key, observable. */
  readonly recoveries = new ObservableValue<ReadonlyMap<string, Recovery>>(new Map());

  private readonly socket: Socket;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly positions = new StreamPositions();
  /** Subscriptions asked for while disconnected: their command goes out on the next connection. */
  private readonly unanswered = new Set<string>();
  private readonly gapListeners = new Set<(gap: Gap) => void>();
  private readonly recoveryListeners = new Set<(recovery: Recovery) => void>();
  private readonly resubscribeListeners = new Set<(outcome: ReconnectRecovery) => void>();
  private readonly books = new Map<string, OrderBookSync>();
  private readonly handlers = new Map<string, Set<(envelope: DeliveredEnvelope) => void>>();
  /** A keyed public channel's key field (klines `interval`, a host's e.g. `chain`), by channel. */
  private readonly keyFields = new Map<string, string>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private greeted = false;
  /** One more for every greeting: a reconnect's outcome is told only if no newer one began. */
  private connections = 0;
  private closed = false;
  private readonly requests: PendingRequests;

  constructor(private readonly options: RealtimeClientOptions) {
    const { token } = options;
    this.requests = new PendingRequests(
      (body, onAnswer) =>
        this.socket
          .timeout(REQUEST_ACK_TIMEOUT_MS)
          .emit('request', body, (error: Error | null, answer: RequestAnswer) => {
            // No ack (the connection was lost): the request goes again on the next one.
            if (!error) onAnswer(answer);
          }),
      { maxPending: options.maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS },
    );
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

  /**
   * Subscribes; resolves on the gateway's answer (with the room's `position`), rejects with
   * its code. Kept across reconnects, and resumed after each from the last position received.
   * Subscribing to a room again with another `rate` or `depth` switches its feed; the newest
   * subscription is the one made again after a reconnect.
   */
  async subscribe(subscription: Subscription): Promise<SubscribeAnswer> {
    const key = subscriptionKey(subscription);
    // A switch the gateway refuses leaves the subscription it had.
    const previous = this.subscriptions.get(key);
    // Noted before asking: the room's messages follow the answer at once.
    const forgetKeyField = this.noteKeyField(subscription);
    this.subscriptions.set(key, subscription);
    try {
      for (;;) {
        const deferred = !this.socket.connected;
        if (deferred) this.unanswered.add(key);
        try {
          return await this.subscribeCommand(key, subscription);
        } catch (error) {
          // Cut off before the answer: asked again, on the next connection (Socket.IO keeps
          // the command until then), unless closed, refused, unsubscribed or timed out.
          const cutOff = !this.closed && !this.socket.connected;
          if (!cutOff || this.subscriptions.get(key) !== subscription) throw error;
        } finally {
          if (deferred) this.unanswered.delete(key);
        }
      }
    } catch (error) {
      if (this.subscriptions.get(key) === subscription) {
        if (previous) this.subscriptions.set(key, previous);
        else this.subscriptions.delete(key);
      }
      if (!previous) this.positions.forget(key);
      forgetKeyField();
      throw error;
    }
  }

  /** Ends the room's subscription, whatever its `rate` and `depth`. */
  async unsubscribe(subscription: Subscription): Promise<void> {
    const key = subscriptionKey(subscription);
    this.subscriptions.delete(key);
    this.positions.forget(key);
    this.forgetRecovery(key);
    await this.command(
      'symbol' in subscription ? 'unsubscribe' : 'unsubscribe.private',
      subscription,
    );
  }

  /**
   * Calls a backend method the gateway relays (`order.place`, ...); resolves with the
   * backend's `result`, rejects with a `RealtimeRequestError` carrying `code`, `message`,
   * `method` and `requestId`. Made while disconnected, it goes out once connected. One
   * `requestId` (made here unless given) is kept for the request's whole life: when the
   * connection drops before the answer, the request is sent again with it after the
   * reconnect, and the gateway answers a repeated id with the first answer without calling
   * the backend twice. Past `timeoutMs` (default 10 s, reconnects included) it rejects `TIMEOUT`.
   */
  request<R = unknown>(method: string, params?: object, options?: RequestOptions): Promise<R> {
    return this.requests.request(method, params, options) as Promise<R>;
  }

  /** How many `request()` calls wait for their answer. */
  get pendingRequests(): number {
    return this.requests.size;
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

  /** Told of every gap: within one epoch, a live message's `offset` was not the last one + 1. */
  onGap(handler: (gap: Gap) => void): () => void {
    this.gapListeners.add(handler);
    return () => this.gapListeners.delete(handler);
  }

  /**
   * Told, per subscription, whether what it missed was recovered: after every reconnect
   * (before the recovered or replayed messages reach the `on` handlers), and when a live
   * message came from a new epoch of its room.
   */
  onRecovery(handler: (recovery: Recovery) => void): () => void {
    this.recoveryListeners.add(handler);
    return () => this.recoveryListeners.delete(handler);
  }

  /** Told after every reconnect, once all subscriptions were made again, with the outcome. */
  onResubscribed(handler: (outcome: ReconnectRecovery) => void): () => void {
    this.resubscribeListeners.add(handler);
    return () => this.resubscribeListeners.delete(handler);
  }

  /** The last stream position received on `subscription` (what a resubscribe sends as `since`). */
  position(subscription: Subscription): StreamPosition | undefined {
    return this.positions.get(subscriptionKey(subscription));
  }

  /**
   * A verified local order book for `symbol`: subscribes, applies snapshot and updates,
   * checks every checksum, and resubscribes by itself when the book cannot be trusted.
   *
   * `options`: the feed (`rate`, `depth`: a partial book of the top N levels) and `maxDepth`
   * (levels kept per side of a whole book), or `maxDepth` alone. One book per symbol: called
   * again with options of another feed, it switches the subscription, and the book starts
   * over from the snapshot the gateway replays; called again with `maxDepth` or nothing, it
   * returns the book as it is.
   */
  orderBook(symbol: string, options: OrderBookOptions | number = Infinity): OrderBookSync {
    const feed = typeof options === 'number' ? undefined : options;
    const wanted = bookSubscription(symbol, feed);
    const existing = this.books.get(symbol.toUpperCase());
    if (existing) {
      const current = this.subscriptions.get(subscriptionKey(wanted)) as
        MarketSubscription | undefined;
      if (feed && (!current || !sameFeed(current, wanted)))
        this.subscribe(wanted).catch(() => undefined);
      return existing;
    }
    const book = new OrderBookSync(
      symbol,
      typeof options === 'number' ? { maxDepth: options } : options,
      (reason: StaleReason) => void this.resync(book, reason),
    );
    this.books.set(symbol.toUpperCase(), book);
    this.on('orderbook.snapshot', (envelope) => book.apply(envelope));
    this.on('orderbook.update', (envelope) => book.apply(envelope));
    // Answered or not, nothing awaits it: a subscribe cut off by close() must not surface as an
    // unhandled rejection (the page closes its client when the user signs in).
    this.subscribe(wanted).catch(() => undefined);
    return book;
  }

  /** Closes the connection and stops every timer and listener. */
  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.reconnectTimer);
    this.requests.close();
    this.socket.removeAllListeners();
    this.socket.offAny();
    this.socket.disconnect();
    this.state.set('closed');
    this.state.clear();
    this.userId.clear();
    this.lastReconnect.clear();
    this.recoveries.clear();
    this.gapListeners.clear();
    this.recoveryListeners.clear();
    this.resubscribeListeners.clear();
    this.handlers.clear();
  }

  /**
   * Sends a command. `onAnswer` runs as the answer is read, before any message the gateway
   * sent after it is handled: the room's position is known before its messages arrive.
   */
  private command(
    event: string,
    payload: unknown,
    onAnswer?: (answer: Reply) => void,
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.socket
        .timeout(ACK_TIMEOUT_MS)
        .emit(event, payload, (error: Error | null, answer: Reply | Refusal) => {
          if (error) return reject(error);
          if (!answer.ok)
            return reject(new RealtimeClientError(answer.error.code, answer.error.message));
          onAnswer?.(answer);
          resolve(answer);
        });
    });
  }

  /** Subscribes, from `since` when given; the answer's position is remembered as it arrives. */
  private subscribeCommand(
    key: string,
    subscription: Subscription,
    since?: StreamPosition,
    onRecovered?: (outcome: AnsweredRecovery, position: StreamPosition | undefined) => void,
  ): Promise<SubscribeAnswer> {
    return this.command(
      'symbol' in subscription ? 'subscribe' : 'subscribe.private',
      since ? { ...subscription, since } : subscription,
      (answer) => {
        // Before the switched feed's replay: the book takes it under the new feed's rules.
        this.bookOf(subscription)?.switchFeed(subscription as MarketSubscription);
        const outcome = this.positions.answered(key, answer as RecoveryAnswer, since);
        onRecovered?.(
          outcome ?? { recovered: false, reason: 'unavailable' },
          positionOf(answer.position),
        );
      },
    );
  }

  private onGreeting({ userId }: { userId: string | null }): void {
    const reconnected = this.greeted;
    this.greeted = true;
    const connection = ++this.connections;
    this.userId.set(userId);
    this.state.set('connected');
    this.scheduleRefresh();
    // Requests without an answer go (again, with their requestId) on this connection.
    this.requests.online(connection);
    if (!reconnected) return;
    for (const book of this.books.values()) book.reset();
    const resubscribed = [...this.subscriptions]
      .filter(([key]) => !this.unanswered.has(key))
      .map(([key, subscription]) => this.resubscribe(key, subscription));
    void Promise.all(resubscribed).then((outcomes) => {
      // Cut off again before every answer came: the next reconnect tells its outcome.
      if (connection !== this.connections || this.closed || !this.socket.connected) return;
      const subscriptions = outcomes.filter((r): r is Recovery => r !== undefined);
      const lost = subscriptions.filter(isLost);
      const outcome: ReconnectRecovery = {
        at: Date.now(),
        recovered: lost.length === 0,
        missed: subscriptions.reduce((sum, r) => sum + (r.missed ?? 0), 0),
        subscriptions,
        lost,
      };
      this.lastReconnect.set(outcome);
      for (const listener of [...this.resubscribeListeners]) listener(outcome);
    });
  }

  /** Makes one subscription again after a reconnect, from the last position it received. */
  private async resubscribe(
    key: string,
    subscription: Subscription,
  ): Promise<Recovery | undefined> {
    const since = this.positions.since(key);
    let recovery: Recovery | undefined;
    try {
      await this.subscribeCommand(key, subscription, since, (outcome, position) => {
        recovery = {
          key,
          subscription,
          cause: 'reconnect',
          ...outcome,
          ...(since ? { since } : {}),
          ...(position ? { position } : {}),
          at: Date.now(),
        };
        this.tellRecovery(recovery);
      });
      return recovery;
    } catch (error) {
      // Refused now (e.g. the token no longer allows it): the subscription is gone. A lost
      // connection keeps it: the next reconnect makes it again.
      if (error instanceof RealtimeClientError && this.subscriptions.get(key) === subscription) {
        this.subscriptions.delete(key);
        this.positions.forget(key);
        this.forgetRecovery(key);
      }
      return undefined;
    }
  }

  private tellRecovery(recovery: Recovery): void {
    const recoveries = new Map(this.recoveries.value);
    recoveries.set(recovery.key, recovery);
    this.recoveries.set(recoveries);
    for (const listener of [...this.recoveryListeners]) listener(recovery);
  }

  private forgetRecovery(key: string): void {
    if (!this.recoveries.value.has(key)) return;
    const recoveries = new Map(this.recoveries.value);
    recoveries.delete(key);
    this.recoveries.set(recoveries);
  }

  private onDisconnect(reason: string): void {
    if (this.closed) return;
    this.state.set('reconnecting');
    this.requests.offline();
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

  /** One domain event, alone or out of a batch: its position noted, then handed to its handlers. */
  private receive(event: string, envelope: DeliveredEnvelope): void {
    this.track(envelope);
    const handlers = this.handlers.get(event);
    if (handlers) for (const handler of handlers) handler(envelope);
  }

  private track(envelope: DeliveredEnvelope): void {
    if (typeof envelope !== 'object' || envelope === null || !envelope.channel) return;
    const position = positionOf(envelope);
    if (!position) return;
    const key = this.keyOfEnvelope(envelope);
    const subscription = this.subscriptions.get(key);
    if (!subscription) return;
    const arrival = this.positions.received(key, position, envelope.replay === true);
    if (arrival.kind === 'gap') {
      for (const listener of [...this.gapListeners]) listener(arrival.gap);
    } else if (arrival.kind === 'reset') {
      this.tellRecovery({
        key,
        subscription,
        cause: 'reset',
        recovered: false,
        reason: 'epoch_changed',
        since: arrival.previous,
        position: arrival.position,
        at: Date.now(),
      });
    }
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

  /** The subscription key of the room `envelope` came from (see `subscriptionKey`). */
  private keyOfEnvelope(envelope: DeliveredEnvelope): string {
    if (envelope.symbol === undefined) return envelope.channel;
    const symbol = envelope.symbol === 'all' ? 'ALL' : envelope.symbol;
    const field = this.keyFields.get(envelope.channel);
    const key = field === undefined ? undefined : envelope[field];
    return key === undefined
      ? `${envelope.channel}:${symbol}`
      : `${envelope.channel}:${symbol}:${String(key)}`;
  }

  /** The `orderBook()` book an order-book subscription feeds, if any. */
  private bookOf(subscription: Subscription): OrderBookSync | undefined {
    if (subscription.channel !== 'orderbook' || !('symbol' in subscription)) return undefined;
    return this.books.get(subscription.symbol.toUpperCase());
  }

  /**
   * A book that cannot be trusted starts over from a fresh snapshot: no `since`, and the
   * newest feed asked for (a switch may be on its way).
   */
  private async resync(book: OrderBookSync, _reason: StaleReason): Promise<void> {
    const key = subscriptionKey({ channel: 'orderbook', symbol: book.symbol });
    const subscription =
      this.subscriptions.get(key) ??
      bookSubscription(book.symbol, { rate: book.rate, depth: book.depth });
    await this.command('unsubscribe', subscription).catch(() => undefined);
    book.reset();
    this.positions.forget(key);
    await this.subscribeCommand(key, subscription).catch(() => undefined);
  }
}
