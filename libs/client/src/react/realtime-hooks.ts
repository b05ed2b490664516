import {
  createContext,
  createElement,
  useContext,
  useCallback,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { RealtimeEventPayloads } from '../../../realtime/src/events/event-catalogue.js';
import type { BookLevel } from '../../../realtime/src/market/order-book.js';
import { FEED_FIELDS, type MarketFeed } from '../market-feed.js';
import type { OrderBookSyncState } from '../order-book-sync.js';
import { RealtimeRequestError, type RequestOptions } from '../pending-requests.js';
import {
  isLost,
  subscriptionKey,
  type ClientEventName,
  type ConnectionState,
  type EventEnvelope,
  type PayloadMap,
  type ReconnectRecovery,
  type RealtimeClient,
  type Recovery,
  type Subscription,
} from '../realtime-client.js';
import { SharedSubscriptions } from './shared-subscriptions.js';

// One context for every payload map: the hooks' type parameter says what the client was made with.
const RealtimeContext = createContext<RealtimeClient<PayloadMap> | null>(null);

/** Makes `client` available to the hooks below it. */
export function RealtimeProvider<P extends PayloadMap = RealtimeEventPayloads>({
  client,
  children,
}: {
  client: RealtimeClient<P>;
  children?: ReactNode;
}) {
  return createElement(
    RealtimeContext.Provider,
    { value: client as unknown as RealtimeClient<PayloadMap> },
    children,
  );
}

function useClient<P extends PayloadMap>(): RealtimeClient<P> {
  const client = useContext(RealtimeContext);
  if (!client)
    throw new Error('useRealtime hooks need a <RealtimeProvider client={...}> above them');
  return client as unknown as RealtimeClient<P>;
}

/** What `useRealtime` returns. */
export interface RealtimeView<P extends PayloadMap = RealtimeEventPayloads> {
  client: RealtimeClient<P>;
  state: ConnectionState;
  userId: string | null;
  /** The last reconnect's outcome: what was recovered, what was lost; null before any. */
  recovery: ReconnectRecovery | null;
}

/**
 * The client, its connection state, the signed-in user and the last reconnect's recovery,
 * re-rendering when they change.
 */
export function useRealtime<P extends PayloadMap = RealtimeEventPayloads>(): RealtimeView<P> {
  const client = useClient<P>();
  const state = useSyncExternalStore(
    (change) => client.state.subscribe(change),
    () => client.state.value,
  );
  const userId = useSyncExternalStore(
    (change) => client.userId.subscribe(change),
    () => client.userId.value,
  );
  const recovery = useSyncExternalStore(
    (change) => client.lastReconnect.subscribe(change),
    () => client.lastReconnect.value,
  );
  return { client, state, userId, recovery };
}

/**
 * The latest `Recovery` of one subscription (after a reconnect, or a reset of its room's
 * stream), or null while it has had none. `recovered: false` means messages are gone: show
 * it, and refetch what you built from that subscription (private channels: from your API).
 */
export function useRecovery(subscription: Subscription | null): Recovery | null {
  const client = useClient<PayloadMap>();
  const key = subscription ? subscriptionKey(subscription) : undefined;
  return useSyncExternalStore(
    (change) => client.recoveries.subscribe(change),
    () => (key === undefined ? null : (client.recoveries.value.get(key) ?? null)),
  );
}

// Components may share one subscription: it ends when the last of them unmounts, and a
// change of rate or depth switches it (see SharedSubscriptions).
const shared = new WeakMap<RealtimeClient<PayloadMap>, SharedSubscriptions>();

function hold(client: RealtimeClient<PayloadMap>, subscription: Subscription): () => void {
  let subscriptions = shared.get(client);
  if (!subscriptions) shared.set(client, (subscriptions = new SharedSubscriptions(client)));
  return subscriptions.hold(subscription);
}

/** Whether `envelope` came from `subscription`'s room: its symbol and, if keyed, its key. */
function fromRoom(
  subscription: Subscription,
  envelope: Readonly<Record<string, unknown>>,
): boolean {
  if (!('symbol' in subscription)) return true;
  if (
    envelope.symbol !== undefined &&
    envelope.symbol !== subscription.symbol.toUpperCase() &&
    subscription.symbol !== 'all'
  )
    return false;
  for (const field in subscription) {
    if (field === 'channel' || field === 'symbol' || FEED_FIELDS.has(field)) continue;
    if (subscription[field] === undefined) continue;
    if (envelope[field] !== subscription[field]) return false;
  }
  return true;
}

/**
 * Subscribes while mounted and returns the latest `keep` envelopes of `event`, newest first.
 * After a reconnect that recovered, the missed envelopes come in as if never missed; when
 * they are lost (`isLost`: not recovered, or the room's stream was reset) the list empties,
 * and the replayed current state refills it (private channels: the next events). Channels
 * without history (tickers, klines) keep their list and take the replayed latest value.
 * Pass `null` as the subscription to wait (e.g. until signed in). Its `rate` and `depth`
 * choose the feed: a change of them switches the subscription (the list starts over, and the
 * gateway's replay of the current state refills it). For a host's events, give
 * the client's payload map first (`useChannel<HostPayloads, 'funding.rate'>`), or take the
 * hooks from `realtimeHooks<HostPayloads>()`, which infer the event.
 */
export function useChannel<
  P extends PayloadMap = RealtimeEventPayloads,
  E extends ClientEventName<P> = ClientEventName<P>,
>(subscription: Subscription | null, event: E, keep = 1): Array<EventEnvelope<P, E>> {
  const client = useClient<P>();
  const [envelopes, setEnvelopes] = useState<Array<EventEnvelope<P, E>>>([]);
  const key = subscription ? JSON.stringify(subscription) : '';
  useEffect(() => {
    if (!subscription) return;
    setEnvelopes([]);
    const release = hold(client as unknown as RealtimeClient<PayloadMap>, subscription);
    const stop = client.on(event, (envelope) => {
      if (!fromRoom(subscription, envelope as unknown as Readonly<Record<string, unknown>>)) return;
      setEnvelopes((previous) => [envelope, ...previous].slice(0, keep));
    });
    const room = subscriptionKey(subscription);
    // Told before the replayed state arrives: what is shown has a hole, start over.
    const stopRecovery = client.onRecovery((recovery) => {
      if (recovery.key === room && isLost(recovery)) setEnvelopes([]);
    });
    return () => {
      stop();
      stopRecovery();
      release();
    };
    // The subscription is compared by value, through its key.
  }, [client, key, event, keep]);
  return envelopes;
}

/**
 * A verified order book's top `levels` levels, re-rendering on every change. `feed` chooses
 * the subscription's `rate` and `depth` (a partial book of the top N levels); a change of
 * them switches it, and the book starts over from the replayed snapshot. Without `feed` the
 * book is taken as it is (realtime and whole, unless another component chose a feed).
 */
export function useOrderBook(
  symbol: string,
  levels = 20,
  feed?: MarketFeed,
): { state: OrderBookSyncState; bids: BookLevel[]; asks: BookLevel[] } {
  const client = useClient<PayloadMap>();
  const [view, setView] = useState<{
    state: OrderBookSyncState;
    bids: BookLevel[];
    asks: BookLevel[];
  }>({
    state: 'waiting',
    bids: [],
    asks: [],
  });
  const chosen = feed !== undefined;
  const rate = feed?.rate;
  const depth = feed?.depth;
  useEffect(() => {
    const book = client.orderBook(symbol, chosen ? { rate, depth } : undefined);
    const refresh = () =>
      setView({ state: book.state, bids: book.bids(levels), asks: book.asks(levels) });
    refresh();
    const stops = [
      client.on('orderbook.snapshot', refresh),
      client.on('orderbook.update', refresh),
    ];
    return () => stops.forEach((stop) => stop());
    // The feed is compared by value, through its fields.
  }, [client, symbol, levels, chosen, rate, depth]);
  return view;
}

/** What `useRequest` returns: the call, and the last call's outcome. */
export interface RequestView<R> {
  /** Calls the method (see `RealtimeClient.request`); resolves or rejects as it does. */
  call: (params?: object, options?: RequestOptions) => Promise<R>;
  /** Whether a call is waiting for its answer. */
  pending: boolean;
  /** The last call's result, until the next call settles. */
  result: R | undefined;
  /** The last call's refusal (`code`, `message`, `requestId`), until the next call settles. */
  error: RealtimeRequestError | undefined;
}

/**
 * A backend method the gateway relays, e.g. `useRequest<PlacedOrder>('order.place')`: `call`
 * sends it with `RealtimeClient.request` (retried with its requestId across reconnects);
 * `pending`, `result` and `error` re-render with the last call's outcome.
 */
export function useRequest<R = unknown>(method: string): RequestView<R> {
  const client = useClient<PayloadMap>();
  const [view, setView] = useState<Omit<RequestView<R>, 'call'>>({
    pending: false,
    result: undefined,
    error: undefined,
  });
  const calls = useRef(0);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => void (mounted.current = false);
  }, []);
  const call = useCallback(
    async (params?: object, options?: RequestOptions): Promise<R> => {
      const mine = ++calls.current;
      const latest = () => mounted.current && mine === calls.current;
      setView((previous) => ({ ...previous, pending: true }));
      try {
        const result = await client.request<R>(method, params, options);
        if (latest()) setView({ pending: false, result, error: undefined });
        return result;
      } catch (error) {
        const refusal =
          error instanceof RealtimeRequestError
            ? error
            : new RealtimeRequestError('INTERNAL', String(error), method, '');
        if (latest()) setView({ pending: false, result: undefined, error: refusal });
        throw refusal;
      }
    },
    [client, method],
  );
  return { call, ...view };
}

/**
 * The hooks above, typed by the payload map the client was made with, so `useChannel`
 * infers the event: `const { useChannel } = realtimeHooks<HostPayloads>();` once, at module
 * level, then `useChannel({ channel: 'funding', symbol }, 'funding.rate')`.
 */
export function realtimeHooks<P extends PayloadMap>(): {
  RealtimeProvider: (props: { client: RealtimeClient<P>; children?: ReactNode }) => ReactNode;
  useRealtime: () => RealtimeView<P>;
  useChannel: <E extends ClientEventName<P>>(
    subscription: Subscription | null,
    event: E,
    keep?: number,
  ) => Array<EventEnvelope<P, E>>;
  useOrderBook: typeof useOrderBook;
  useRecovery: typeof useRecovery;
  useRequest: typeof useRequest;
} {
  return {
    RealtimeProvider: RealtimeProvider<P>,
    useRealtime: useRealtime<P>,
    useChannel: <E extends ClientEventName<P>>(
      subscription: Subscription | null,
      event: E,
      keep?: number,
    ) => useChannel<P, E>(subscription, event, keep),
    useOrderBook,
    useRecovery,
    useRequest,
  };
}
