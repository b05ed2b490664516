import { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { RealtimeClient, type ReconnectRecovery } from '../../../libs/client/src/index.js';
import { realtimeHooks } from '../../../libs/client/src/react/index.js';
import type { DemoPayloads } from '../src/simulator/demo-events.js';

// Typed by the demo's catalogue: the built-in events and its own funding.rate and portfolio.update.
const { RealtimeProvider, useChannel, useOrderBook, useRealtime, useRecovery } =
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

function Account({ onSignIn }: { onSignIn: (user: string) => void }) {
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
        <Account onSignIn={setUser} />
        <Portfolio />
      </main>
    </RealtimeProvider>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
