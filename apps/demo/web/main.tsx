import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { RealtimeClient, type ReconnectRecovery } from '../../../libs/client/src/index.js';
import { realtimeHooks } from '../../../libs/client/src/react/index.js';
import type { PlacedOrder } from '../src/requests/demo-order-desk.js';
import type { AssistantAnswer } from '../src/requests/market-assistant.js';
import type { DemoPayloads } from '../src/simulator/demo-events.js';

// Typed by the demo's catalogue: the built-in events and its own funding.rate and portfolio.update.
const { RealtimeProvider, useChannel, useOrderBook, useRealtime, useRecovery, useRequest } =
  realtimeHooks<DemoPayloads>();

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const USERS = ['alice', 'bob', 'carol'];

function tokenFor(user: string): () => Promise<string> {
  return async () => {
    const response = await fetch('/demo/token?user=' + encodeURIComponent(user));
    return ((await response.json()) as { token: string }).token;
  };
}

/** `last reconnect: recovered 3 messages`, or what was lost and why. */
function describeRecovery(recovery: ReconnectRecovery): string {
  if (recovery.recovered) {
    const { missed } = recovery;
    return `last reconnect: recovered ${missed} message${missed === 1 ? '' : 's'}`;
  }
  const byReason = new Map<string, string[]>();
  for (const { key, reason } of recovery.lost) {
    const keys = byReason.get(reason ?? 'unavailable') ?? [];
    byReason.set(reason ?? 'unavailable', [...keys, key]);
  }
  const lost = [...byReason].map(([reason, keys]) => `${reason} (${keys.join(', ')})`);
  return `last reconnect: not recovered: ${lost.join('; ')}`;
}

function Status() {
  const { state, userId, recovery } = useRealtime();
  const at = recovery ? new Date(recovery.at).toLocaleTimeString() : '';
  return (
    <>
      <span id="status" className={state}>
        {state}
        {userId ? ` as ${userId}` : ''}
      </span>
      {recovery && (
        <small
          id="recovery"
          className={recovery.recovered ? 'recovered' : 'lost'}
          style={{ color: recovery.recovered ? '#0a7d3b' : '#b3261e' }}
          title={`at ${at}`}
        >
          {describeRecovery(recovery)}
        </small>
      )}
    </>
  );
}

function Tickers({ selected, onSelect }: { selected: string; onSelect: (symbol: string) => void }) {
  const [digest] = useChannel({ channel: 'ticker', symbol: 'all' }, 'tickers.update');
  const tickers = (digest?.data.tickers ?? []) as Array<Record<string, string>>;
  return (
    <section>
      <h2>Markets</h2>
      <table id="tickers">
        <thead>
          <tr>
            <th>Symbol</th>
            <th>Last</th>
            <th>24h %</th>
          </tr>
        </thead>
        <tbody>
          {tickers.map((t) => (
            <tr
              key={t.symbol}
              className={t.symbol === selected ? 'selected' : ''}
              onClick={() => onSelect(t.symbol!)}
            >
              <td>{t.symbol}</td>
              <td className="price">{t.lastPrice}</td>
              <td className={Number(t.priceChangePercent) >= 0 ? 'up' : 'down'}>
                {t.priceChangePercent}%
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** `0.000125` as `0.0125%`. */
function percent(rate: string): string {
  return `${(Number(rate) * 100).toFixed(4)}%`;
}

/** The demo's own public event: the perpetual's funding rate, the current one replayed at once. */
function Funding({ symbol }: { symbol: string }) {
  const [funding] = useChannel({ channel: 'funding', symbol }, 'funding.rate');
  if (!funding) return <p id="funding">Funding -</p>;
  const { rate, nextFundingTime } = funding.data;
  const next = new Date(nextFundingTime).toISOString().slice(11, 16);
  return (
    <p id="funding">
      Funding{' '}
      <strong id="funding-rate" className={Number(rate) >= 0 ? 'up' : 'down'}>
        {percent(rate)}
      </strong>{' '}
      <small>next at {next} UTC</small>
    </p>
  );
}

function Book({ symbol }: { symbol: string }) {
  const { state, bids, asks } = useOrderBook(symbol, 12);
  const most = Math.max(1, ...[...bids, ...asks].map(([, q]) => Number(q)));
  const row =
    (side: 'bid' | 'ask') =>
    ([price, quantity]: [string, string]) => (
      <tr key={price} className={`level ${side}`}>
        <td>{price}</td>
        <td style={{ backgroundSize: `${(Number(quantity) / most) * 100}% 100%` }}>{quantity}</td>
      </tr>
    );
  return (
    <section>
      <h2>
        Order book {symbol} <small id="book-state">{state}</small>
      </h2>
      <Funding symbol={symbol} />
      <table id="orderbook">
        <tbody>
          {[...asks].reverse().map(row('ask'))}
          {bids.map(row('bid'))}
        </tbody>
      </table>
    </section>
  );
}

function Trades({ symbol }: { symbol: string }) {
  const trades = useChannel({ channel: 'trades', symbol }, 'trade', 15);
  return (
    <section>
      <h2>Trades</h2>
      <table id="trades">
        <tbody>
          {trades.map(({ data }) => (
            <tr key={String(data.tradeId)}>
              <td className={data.side === 'buy' ? 'up' : 'down'}>{data.price}</td>
              <td>{data.quantity}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Klines({ symbol }: { symbol: string }) {
  const klines = useChannel({ channel: 'klines', symbol, interval: '1m' }, 'kline.update', 200);
  const candles = useMemo(() => {
    const byOpen = new Map<number, Record<string, unknown>>();
    for (const { data } of [...klines].reverse()) byOpen.set(data.openTime as number, data);
    return [...byOpen.values()].slice(-30);
  }, [klines]);
  const prices = candles.flatMap((c) => [Number(c.high), Number(c.low)]);
  const [low, high] = [Math.min(...prices), Math.max(...prices)];
  const y = (price: unknown) => 110 - ((Number(price) - low) / Math.max(high - low, 1e-9)) * 100;
  return (
    <section>
      <h2>1m klines</h2>
      <svg id="klines" viewBox="0 0 300 120" role="img" aria-label={`${symbol} one-minute candles`}>
        {candles.map((c, i) => (
          <g key={String(c.openTime)} className={Number(c.close) >= Number(c.open) ? 'up' : 'down'}>
            <line x1={i * 10 + 5} x2={i * 10 + 5} y1={y(c.high)} y2={y(c.low)} />
            <rect
              x={i * 10 + 2}
              width={6}
              y={Math.min(y(c.open), y(c.close))}
              height={Math.max(1, Math.abs(y(c.open) - y(c.close)))}
            />
          </g>
        ))}
      </svg>
    </section>
  );
}

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
function refusalText(error: { code: string; message: string }): string {
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

/** A question to the demo's market assistant: `assistant.ask`, signed in or not. */
function Ask({ symbol }: { symbol: string }) {
  const ask = useRequest<AssistantAnswer>('assistant.ask');
  const [question, setQuestion] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void ask.call({ question: question || `How is ${symbol} doing?` }).catch(() => undefined);
  };
  return (
    <section>
      <h2>
        Ask <small>(a rule-based market assistant)</small>
      </h2>
      <form id="ask-form" onSubmit={submit}>
        <p className="fields">
          <input
            id="question"
            aria-label="question"
            placeholder={`What is the spread of ${symbol}?`}
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
          />
          <button id="ask" disabled={ask.pending}>
            Ask
          </button>
        </p>
      </form>
      <p id="answer" className={ask.error ? 'down' : undefined}>
        {ask.pending ? '...' : ask.error ? refusalText(ask.error) : (ask.result?.answer ?? '')}
      </p>
    </section>
  );
}

function Account({ onSignIn, symbol }: { onSignIn: (user: string) => void; symbol: string }) {
  const { userId } = useRealtime();
  const orders = useChannel(userId ? { channel: 'user.orders' } : null, 'order.created', 4);
  const fills = useChannel(userId ? { channel: 'user.orders' } : null, 'order.filled', 8);
  const [balance] = useChannel(userId ? { channel: 'user.balances' } : null, 'balance.updated');
  // Private channels replay nothing: when a reconnect could not recover, say what may be missing.
  const ordersRecovery = useRecovery(userId ? { channel: 'user.orders' } : null);
  const [user, setUser] = useState(USERS[0]!);
  return (
    <section>
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
      {userId && <OrderEntry symbol={symbol} />}
      {userId && <OpenOrders />}
      <h3>Orders placed</h3>
      <OrderTable id="orders" rowClass="order" envelopes={orders} />
      <h3>Fills</h3>
      <OrderTable id="fills" rowClass="fill" envelopes={fills} />
    </section>
  );
}

/** The demo's own private event: the signed-in user's portfolio, after every fill. */
function Portfolio() {
  const { userId } = useRealtime();
  const [portfolio] = useChannel(userId ? { channel: 'user.portfolio' } : null, 'portfolio.update');
  const data = portfolio?.data;
  const sign = (value: string) => (Number(value) >= 0 ? 'up' : 'down');
  return (
    <section>
      <h2>
        Portfolio <small>{userId ?? 'sign in to see yours'}</small>
      </h2>
      <p>
        Equity <strong id="equity">{data?.equity ?? '-'}</strong> USDT
        <br />
        <small>
          cash <span id="cash">{data?.cash ?? '-'}</span>, unrealized{' '}
          <span id="pnl" className={data ? sign(data.unrealizedPnl) : undefined}>
            {data?.unrealizedPnl ?? '-'}
          </span>
        </small>
      </p>
      <table id="portfolio">
        <thead>
          <tr>
            <th>Position</th>
            <th>Size</th>
            <th>Entry</th>
            <th>PnL</th>
          </tr>
        </thead>
        <tbody>
          {data?.positions.map((p) => (
            <tr key={p.symbol} className="position">
              <td>{p.symbol}</td>
              <td className={sign(p.size)}>{p.size}</td>
              <td>{p.entryPrice}</td>
              <td className={sign(p.unrealizedPnl)}>{p.unrealizedPnl}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function App() {
  const [user, setUser] = useState<string | null>(null);
  const [symbol, setSymbol] = useState(SYMBOLS[0]!);
  const client = useMemo(
    () =>
      new RealtimeClient<DemoPayloads>({
        url: location.origin,
        ...(user ? { token: tokenFor(user) } : {}),
      }),
    [user],
  );
  useEffect(() => () => client.close(), [client]);
  return (
    <RealtimeProvider client={client}>
      <header>
        <h1>Demo market</h1>
        <Status />
      </header>
      <main>
        <Tickers selected={symbol} onSelect={setSymbol} />
        <Book symbol={symbol} />
        <Trades symbol={symbol} />
        <Klines symbol={symbol} />
        <Account onSignIn={setUser} symbol={symbol} />
        <Portfolio />
        <Ask symbol={symbol} />
      </main>
    </RealtimeProvider>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
