import { useChannel } from './demo-hooks.js';

/** A market's row of the all-symbols ticker digest (`tickers.update`). */
export type TickerRow = Record<string, string>;

/** The markets: last price and 24h change of each, from the `ticker` digest; a click selects one. */
export function Tickers({
  tickers,
  selected,
  onSelect,
}: {
  tickers: TickerRow[];
  selected: string;
  onSelect: (symbol: string) => void;
}) {
  return (
    <section id="markets-panel">
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

/** The digest of every market's ticker, re-rendering with each. */
export function useTickers(): TickerRow[] {
  const [digest] = useChannel({ channel: 'ticker', symbol: 'all' }, 'tickers.update');
  return (digest?.data.tickers ?? []) as TickerRow[];
}
