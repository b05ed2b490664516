import { useChannel } from './demo-hooks.js';

/** `12:30:15` in the viewer's time zone. */
function clock(timestamp: number): string {
  return new Date(timestamp).toLocaleTimeString([], { hour12: false });
}

/** The trade tape: `symbol`'s latest trades, newest on top, green when the buyer took the ask. */
export function TradeTape({ symbol, rows }: { symbol: string; rows: number }) {
  const trades = useChannel({ channel: 'trades', symbol }, 'trade', rows);
  return (
    <section id="tape-panel">
      <h2>Trades</h2>
      <table id="trades">
        <thead>
          <tr>
            <th>Price</th>
            <th>Size</th>
            <th>Time</th>
          </tr>
        </thead>
        <tbody>
          {trades.map(({ data }) => (
            <tr key={String(data.tradeId)} className="trade" data-trade-id={String(data.tradeId)}>
              <td className={data.side === 'buy' ? 'up' : 'down'}>{data.price}</td>
              <td>{data.quantity}</td>
              <td className="muted">{clock(data.timestamp as number)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
