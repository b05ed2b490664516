import { useChannel, useRealtime } from './demo-hooks.js';

/** The demo's own private event: the signed-in user's portfolio, after every fill. */
export function Portfolio() {
  const { userId } = useRealtime();
  const [portfolio] = useChannel(userId ? { channel: 'user.portfolio' } : null, 'portfolio.update');
  const data = portfolio?.data;
  const sign = (value: string) => (Number(value) >= 0 ? 'up' : 'down');
  return (
    <section id="portfolio-panel">
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
