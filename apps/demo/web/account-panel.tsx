import { useMemo, useState, type FormEvent } from 'react';
import type { PlacedOrder } from '../src/requests/demo-order-desk.js';
import type { DemoPayloads } from '../src/simulator/demo-events.js';
import { useChannel, useRealtime, useRecovery, useRequest } from './demo-hooks.js';

const USERS = ['alice', 'bob', 'carol'];

/** Rows of a user's order events: symbol, side, quantity @ price. */
function OrderTable({
  id,
  rowClass,
  envelopes,
}: {
  id: string;
  rowClass: string;
  envelopes: Array<{ data: Record<string, unknown> }>;
}) {
  return (
    <table id={id}>
      <tbody>
        {envelopes.map(({ data }) => (
          <tr key={String(data.orderId)} className={rowClass} data-order-id={String(data.orderId)}>
            <td>{String(data.symbol)}</td>
            <td className={data.side === 'buy' ? 'up' : 'down'}>{String(data.side)}</td>
            <td>
              {String(data.quantity)} @ {String(data.price)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `INSUFFICIENT_FUNDS: the order needs ...`: a request's refusal as the page shows it. */
export function refusalText(error: { code: string; message: string }): string {
  return `${error.code}: ${error.message}`;
}

/** A buy/sell order form: `order.place` over the live connection (`client.request`). */
function OrderEntry({ symbol }: { symbol: string }) {
  const place = useRequest<PlacedOrder>('order.place');
  const [type, setType] = useState<'limit' | 'market'>('limit');
  const [price, setPrice] = useState('');
  const [quantity, setQuantity] = useState('0.010');
  const submit = (side: 'buy' | 'sell') => (event: FormEvent) => {
    event.preventDefault();
    const params = { symbol, side, type, quantity, ...(type === 'limit' ? { price } : {}) };
    // The outcome shows below; a refusal is not an error of the page.
    void place.call(params).catch(() => undefined);
  };
  return (
    <form id="order-form" onSubmit={submit('buy')}>
      <h3>Place an order on {symbol}</h3>
      <p className="fields">
        <select
          id="order-type"
          value={type}
          onChange={(e) => setType(e.target.value as 'limit' | 'market')}
        >
          <option value="limit">limit</option>
          <option value="market">market</option>
        </select>
        <input
          id="order-price"
          aria-label="price"
          placeholder="price"
          inputMode="decimal"
          disabled={type === 'market'}
          value={type === 'market' ? '' : price}
          onChange={(e) => setPrice(e.target.value)}
        />
        <input
          id="order-quantity"
          aria-label="quantity"
          placeholder="quantity"
          inputMode="decimal"
          value={quantity}
          onChange={(e) => setQuantity(e.target.value)}
        />
      </p>
      <p className="fields">
        <button id="buy" type="submit" className="buy" disabled={place.pending}>
          Buy
        </button>
        <button
          id="sell"
          type="button"
          className="sell"
          disabled={place.pending}
          onClick={submit('sell')}
        >
          Sell
        </button>
        <small id="order-result" className={place.error ? 'down' : undefined}>
          {place.pending
            ? 'placing...'
            : place.error
              ? refusalText(place.error)
              : place.result
                ? `order ${place.result.orderId} ${place.result.status}`
                : ''}
        </small>
      </p>
    </form>
  );
}

type OrderData = DemoPayloads['order.created'];

/**
 * The user's open orders, from every event of `user.orders` (the simulator's and their own),
 * each with a cancel button: `order.cancel` over the live connection.
 */
function OpenOrders() {
  const { userId } = useRealtime();
  const channel = userId ? ({ channel: 'user.orders' } as const) : null;
  const created = useChannel(channel, 'order.created', 50);
  const filled = useChannel(channel, 'order.filled', 50);
  const cancelled = useChannel(channel, 'order.cancelled', 50);
  const cancel = useRequest<PlacedOrder>('order.cancel');
  const open = useMemo(() => {
    // The latest event of each order (the room's offsets order them) says whether it is open.
    const latest = new Map<string, { offset: number; data: OrderData }>();
    for (const envelope of [...created, ...filled, ...cancelled]) {
      const id = String(envelope.data.orderId);
      const known = latest.get(id);
      if (!known || known.offset < envelope.offset)
        latest.set(id, { offset: envelope.offset, data: envelope.data as OrderData });
    }
    return [...latest.values()]
      .filter(({ data }) => data.status === 'new' || data.status === 'partially_filled')
      .sort((a, b) => b.offset - a.offset)
      .slice(0, 8)
      .map(({ data }) => data);
  }, [created, filled, cancelled]);
  return (
    <>
      <h3>
        Open orders{' '}
        <small id="cancel-result" className={cancel.error ? 'down' : undefined}>
          {cancel.error
            ? refusalText(cancel.error)
            : cancel.result
              ? `order ${cancel.result.orderId} ${cancel.result.status}`
              : ''}
        </small>
      </h3>
      <table id="open-orders">
        <tbody>
          {open.map((order) => (
            <tr
              key={String(order.orderId)}
              className="open-order"
              data-order-id={String(order.orderId)}
            >
              <td>{order.symbol}</td>
              <td className={order.side === 'buy' ? 'up' : 'down'}>{order.side}</td>
              <td>
                {order.filledQuantity && Number(order.filledQuantity) > 0
                  ? `${order.filledQuantity}/`
                  : ''}
                {order.quantity} @ {order.price}
              </td>
              <td>
                <button
                  className="cancel"
                  title="Cancel this order"
                  aria-label={`Cancel order ${String(order.orderId)}`}
                  onClick={() => void cancel.call({ orderId: order.orderId }).catch(() => {})}
                >
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/**
 * The signed-in user's desk: sign-in, balance, order form, open orders (with cancel), the
 * orders placed and the fills, from the private channels.
 */
export function Account({
  onSignIn,
  symbol,
}: {
  onSignIn: (user: string) => void;
  symbol: string;
}) {
  const { userId } = useRealtime();
  const orders = useChannel(userId ? { channel: 'user.orders' } : null, 'order.created', 4);
  const fills = useChannel(userId ? { channel: 'user.orders' } : null, 'order.filled', 8);
  const [balance] = useChannel(userId ? { channel: 'user.balances' } : null, 'balance.updated');
  // Private channels replay nothing: when a reconnect could not recover, say what may be missing.
  const ordersRecovery = useRecovery(userId ? { channel: 'user.orders' } : null);
  const [user, setUser] = useState(USERS[0]!);
  return (
    <section id="account-panel">
      <h2>
        My account <small>(demo)</small>
      </h2>
      <p>
        <select id="user" value={user} onChange={(e) => setUser(e.target.value)}>
          {USERS.map((u) => (
            <option key={u}>{u}</option>
          ))}
        </select>{' '}
        <button id="signin" onClick={() => onSignIn(user)}>
          Sign in
        </button>
      </p>
      <p>
        USDT: <strong id="balance">{balance?.data.free ?? '-'}</strong>
      </p>
      {ordersRecovery && !ordersRecovery.recovered && (
        <p id="orders-lost">
          <small>
            Orders before {new Date(ordersRecovery.at).toLocaleTimeString()} may be missing (
            {ordersRecovery.reason}): an exchange front end refetches them from its REST API.
          </small>
        </p>
      )}
      {/* Keyed by market: a price typed for one is no price for another. */}
      {userId && <OrderEntry key={symbol} symbol={symbol} />}
      {userId && <OpenOrders />}
      <h3>Orders placed</h3>
      <OrderTable id="orders" rowClass="order" envelopes={orders} />
      <h3>Fills</h3>
      <OrderTable id="fills" rowClass="fill" envelopes={fills} />
    </section>
  );
}
