import { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { RealtimeClient } from '../../../libs/client/src/index.js';
import type { DemoPayloads } from '../src/simulator/demo-events.js';
import { Account } from './account-panel.js';
import { Ask } from './ask-panel.js';
import { CandleChart } from './candle-chart.js';
import { ConnectionBar } from './connection-bar.js';
import { RealtimeProvider } from './demo-hooks.js';
import { Funding } from './funding-rate.js';
import { Tickers, useTickers, type TickerRow } from './markets-panel.js';
import { OrderBookPanel } from './order-book-panel.js';
import { Portfolio } from './portfolio-panel.js';
import { TradeTape } from './trade-tape.js';
import { useLayout } from './use-layout.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

function tokenFor(user: string): () => Promise<string> {
  return async () => {
    const response = await fetch('/demo/token?user=' + encodeURIComponent(user));
    return ((await response.json()) as { token: string }).token;
  };
}

/** The selected market's line above its chart: last price, 24h change, high, low, funding. */
function MarketHeader({ symbol, ticker }: { symbol: string; ticker: TickerRow | undefined }) {
  const change = Number(ticker?.priceChangePercent ?? 0);
  return (
    <div id="market-header">
      <strong className="symbol">{symbol}</strong>
      <strong id="last-price" className={change >= 0 ? 'up' : 'down'}>
        {ticker?.lastPrice ?? '-'}
      </strong>
      <span>
        <small>24h</small> <span className={change >= 0 ? 'up' : 'down'}>{change.toFixed(2)}%</span>
      </span>
      <span>
        <small>high</small> {ticker?.highPrice ?? '-'}
      </span>
      <span>
        <small>low</small> {ticker?.lowPrice ?? '-'}
      </span>
      <Funding symbol={symbol} />
    </div>
  );
}

/**
 * The trading screen. On a desk: markets and the account on the left, the chart and the
 * depth chart in the middle, the book and the tape on the right. On a phone the same panels
 * stacked, with a lighter book feed (see BOOK_FEEDS).
 */
function Screen({ onSignIn }: { onSignIn: (user: string) => void }) {
  const [symbol, setSymbol] = useState(SYMBOLS[0]!);
  const layout = useLayout();
  const tickers = useTickers();
  return (
    <>
      <header>
        <h1>Demo market</h1>
        <ConnectionBar />
      </header>
      <main className={layout} data-layout={layout}>
        <Tickers tickers={tickers} selected={symbol} onSelect={setSymbol} />
        <section id="chart-panel">
          <MarketHeader symbol={symbol} ticker={tickers.find((t) => t.symbol === symbol)} />
          <CandleChart symbol={symbol} />
        </section>
        {/* Keyed by layout: crossing the breakpoint subscribes the other feed. */}
        <OrderBookPanel key={layout} symbol={symbol} layout={layout} />
        <TradeTape symbol={symbol} rows={layout === 'phone' ? 12 : 30} />
        <Account onSignIn={onSignIn} symbol={symbol} />
        <Portfolio />
        <Ask symbol={symbol} />
      </main>
      <footer>
        Charts by{' '}
        <a href="https://www.tradingview.com/" target="_blank" rel="noreferrer">
          TradingView Lightweight Charts
        </a>
        ; a simulated market.
      </footer>
    </>
  );
}

function App() {
  const [user, setUser] = useState<string | null>(null);
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
      <Screen onSignIn={setUser} />
    </RealtimeProvider>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
