import { useEffect, useRef, useState } from 'react';
import type { ClientEventName } from '../../../libs/client/src/index.js';
import { isLost, type ReconnectRecovery } from '../../../libs/client/src/index.js';
import type { ServerTimeAnswer } from '../src/requests/server-time.js';
import type { DemoPayloads } from '../src/simulator/demo-events.js';
import { useRealtime } from './demo-hooks.js';

/** Every event the page receives: the newest of them dates the connection's last message. */
const PAGE_EVENTS: ReadonlyArray<ClientEventName<DemoPayloads>> = [
  'tickers.update',
  'orderbook.snapshot',
  'orderbook.update',
  'trade',
  'kline.update',
  'funding.rate',
  'order.created',
  'order.filled',
  'order.cancelled',
  'balance.updated',
  'portfolio.update',
];
/** How often the age shown is brought up to date. */
const AGE_REFRESH_MS = 250;
/** How often the round trip is timed (`market.time`). */
const PING_EVERY_MS = 5000;

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

/** `0.3 s`, `12 s`, `4 min`. */
function age(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** What the bar counts, from the client's listeners. */
interface Health {
  gaps: number;
  /** Subscriptions whose missed messages came after a reconnect. */
  recovered: number;
  /** Those that hold a state (tickers, klines, the book) and got the current one instead. */
  refreshed: number;
  /** Those whose missed messages are gone (`isLost`). */
  lost: number;
  resubscribed: number;
}

/**
 * The connection as a trader checks it: its state (and user), the age of the last message
 * (ticking), gaps seen in the streams (`onGap`), recoveries per subscription (`onRecovery`:
 * recovered, refreshed with the current state, or lost), reconnects (`onResubscribed`), and the round trip of a request.
 */
export function ConnectionBar() {
  const { client, state, userId, recovery } = useRealtime();
  const lastMessageAt = useRef(0);
  const [now, setNow] = useState(() => Date.now());
  const [health, setHealth] = useState<Health>({
    gaps: 0,
    recovered: 0,
    refreshed: 0,
    lost: 0,
    resubscribed: 0,
  });
  const [roundTrip, setRoundTrip] = useState<number | undefined>(undefined);

  useEffect(() => {
    lastMessageAt.current = 0;
    setHealth({ gaps: 0, recovered: 0, refreshed: 0, lost: 0, resubscribed: 0 });
    // A field write per message: the bar re-renders on its own clock, not on every message.
    const seen = () => void (lastMessageAt.current = Date.now());
    const stops = [
      ...PAGE_EVENTS.map((event) => client.on(event, seen)),
      client.onGap(() => setHealth((h) => ({ ...h, gaps: h.gaps + 1 }))),
      client.onRecovery((r) =>
        setHealth((h) =>
          r.recovered
            ? { ...h, recovered: h.recovered + 1 }
            : isLost(r)
              ? { ...h, lost: h.lost + 1 }
              : { ...h, refreshed: h.refreshed + 1 },
        ),
      ),
      client.onResubscribed(() => setHealth((h) => ({ ...h, resubscribed: h.resubscribed + 1 }))),
    ];
    const clock = setInterval(() => setNow(Date.now()), AGE_REFRESH_MS);
    return () => {
      stops.forEach((stop) => stop());
      clearInterval(clock);
    };
  }, [client]);

  useEffect(() => {
    if (state !== 'connected') return;
    let stopped = false;
    const ping = () => {
      const sent = performance.now();
      client.request<ServerTimeAnswer>('market.time', undefined, { timeoutMs: 3000 }).then(
        () => !stopped && setRoundTrip(Math.round(performance.now() - sent)),
        () => !stopped && setRoundTrip(undefined),
      );
    };
    ping();
    const timer = setInterval(ping, PING_EVERY_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [client, state]);

  const at = recovery ? new Date(recovery.at).toLocaleTimeString() : '';
  const since = lastMessageAt.current ? Math.max(0, now - lastMessageAt.current) : undefined;
  return (
    <div id="connection">
      <span id="status" className={state}>
        {state}
        {userId ? ` as ${userId}` : ''}
      </span>
      <span
        id="last-message"
        className={since !== undefined && since > 5000 ? 'down' : undefined}
        data-age-ms={since ?? ''}
      >
        last message {since === undefined ? '-' : `${age(since)} ago`}
      </span>
      <span id="gaps" data-count={health.gaps} className={health.gaps ? 'down' : undefined}>
        gaps {health.gaps}
      </span>
      <span
        id="recoveries"
        data-recovered={health.recovered}
        data-refreshed={health.refreshed}
        data-lost={health.lost}
        data-reconnects={health.resubscribed}
        className={health.lost ? 'down' : undefined}
        title="after reconnects, subscriptions whose missed messages came (recovered), that took the current state (refreshed), whose missed messages are gone (lost)"
      >
        reconnects {health.resubscribed} · recovered {health.recovered} · refreshed{' '}
        {health.refreshed} · lost {health.lost}
      </span>
      <span id="latency" data-ms={roundTrip ?? ''} title="round trip of a request (market.time)">
        rtt {roundTrip === undefined ? '-' : `${roundTrip} ms`}
      </span>
      {recovery && (
        <small
          id="recovery"
          className={recovery.recovered ? 'recovered up' : 'lost down'}
          title={`at ${at}`}
        >
          {describeRecovery(recovery)}
        </small>
      )}
    </div>
  );
}
