import { useChannel } from './demo-hooks.js';

/** `0.000125` as `0.0125%`. */
function percent(rate: string): string {
  return `${(Number(rate) * 100).toFixed(4)}%`;
}

/** The demo's own public event: the perpetual's funding rate, the current one replayed at once. */
export function Funding({ symbol }: { symbol: string }) {
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
