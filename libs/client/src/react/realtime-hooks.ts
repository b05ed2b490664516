import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { Envelope } from '../../../realtime/src/broadcast/envelope.js';
import type { RealtimeEventName } from '../../../realtime/src/events/event-catalogue.js';
import type { BookLevel } from '../../../realtime/src/market/order-book.js';
import type { OrderBookSyncState } from '../order-book-sync.js';
import type { ConnectionState, RealtimeClient, Subscription } from '../realtime-client.js';

const RealtimeContext = createContext<RealtimeClient | null>(null);

/** Makes `client` available to the hooks below it. */
export function RealtimeProvider({
  client,
  children,
}: {
  client: RealtimeClient;
  children?: ReactNode;
}) {
  return createElement(RealtimeContext.Provider, { value: client }, children);
}

function useClient(): RealtimeClient {
  const client = useContext(RealtimeContext);
  if (!client)
    throw new Error('useRealtime hooks need a <RealtimeProvider client={...}> above them');
  return client;
}

/** The client, its connection state and the signed-in user, re-rendering when they change. */
export function useRealtime(): {
  client: RealtimeClient;
  state: ConnectionState;
  userId: string | null;
} {
  const client = useClient();
  const state = useSyncExternalStore(
    (change) => client.state.subscribe(change),
    () => client.state.value,
  );
  const userId = useSyncExternalStore(
    (change) => client.userId.subscribe(change),
    () => client.userId.value,
  );
  return { client, state, userId };
}

// Two components may share one subscription: it ends when the last of them unmounts.
const holders = new WeakMap<RealtimeClient, Map<string, number>>();

function hold(client: RealtimeClient, subscription: Subscription): () => void {
  const key = JSON.stringify(subscription);
  const counts = holders.get(client) ?? new Map<string, number>();
  holders.set(client, counts);
  const count = counts.get(key) ?? 0;
  counts.set(key, count + 1);
  if (count === 0) void client.subscribe(subscription).catch(() => undefined);
  return () => {
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) return void counts.set(key, left);
    counts.delete(key);
    void client.unsubscribe(subscription).catch(() => undefined);
  };
}

/**
 * Subscribes while mounted and returns the latest `keep` envelopes of `event`, newest first.
 * Pass `null` as the subscription to wait (e.g. until signed in).
 */
export function useChannel<E extends RealtimeEventName>(
  subscription: Subscription | null,
  event: E,
  keep = 1,
): Array<Envelope<E>> {
  const client = useClient();
  const [envelopes, setEnvelopes] = useState<Array<Envelope<E>>>([]);
  const key = subscription ? JSON.stringify(subscription) : '';
  useEffect(() => {
    if (!subscription) return;
    setEnvelopes([]);
    const release = hold(client, subscription);
    const stop = client.on(event, (envelope) => {
      if (
        'symbol' in subscription &&
        envelope.symbol !== undefined &&
        envelope.symbol !== subscription.symbol.toUpperCase() &&
        subscription.symbol !== 'all'
      )
        return;
      if (
        'interval' in subscription &&
        subscription.interval &&
        envelope.interval !== subscription.interval
      )
        return;
      setEnvelopes((previous) => [envelope, ...previous].slice(0, keep));
    });
    return () => {
      stop();
      release();
    };
    // The subscription is compared by value, through its key.
  }, [client, key, event, keep]);
  return envelopes;
}

/** A verified order book's top `depth` levels, re-rendering on every change. */
export function useOrderBook(
  symbol: string,
  depth = 20,
): { state: OrderBookSyncState; bids: BookLevel[]; asks: BookLevel[] } {
  const client = useClient();
  const [view, setView] = useState<{
    state: OrderBookSyncState;
    bids: BookLevel[];
    asks: BookLevel[];
  }>({
    state: 'waiting',
    bids: [],
    asks: [],
  });
  useEffect(() => {
    const book = client.orderBook(symbol);
    const refresh = () =>
      setView({ state: book.state, bids: book.bids(depth), asks: book.asks(depth) });
    refresh();
    const stops = [
      client.on('orderbook.snapshot', refresh),
      client.on('orderbook.update', refresh),
    ];
    return () => stops.forEach((stop) => stop());
  }, [client, symbol, depth]);
  return view;
}
