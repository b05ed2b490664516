import { useEffect, useState, type CSSProperties } from 'react';
import type { MarketFeed } from '../../../libs/client/src/index.js';
import type { BookLevel } from '../../../libs/realtime/src/market/order-book.js';
import { spreadAndMid } from './book-figures.js';
import { marketSpec, useOrderBook, useRealtime } from './demo-hooks.js';
import { DepthChart } from './depth-chart.js';
import type { Layout } from './use-layout.js';

/** How a layout subscribes the book, and how many levels a side it shows. */
export interface BookFeed extends MarketFeed {
  /** Levels a side the table shows. */
  rows: number;
}

/**
 * A desk gets the full book as it changes (20 levels a side shown, the depth chart drawn from
 * all of them); a phone a 10-level book once a second: a tenth of the messages, and what a
 * small screen shows anyway.
 */
export const BOOK_FEEDS: Record<Layout, BookFeed> = {
  desktop: { rows: 20 },
  phone: { rate: '1000ms', depth: 10, rows: 10 },
};

/** Levels a side taken from a full book: all the demo's (it keeps 50), for the depth chart. */
const FULL_BOOK_LEVELS = 100;

/** Each level with the quantity up to and including it, from the best outwards. */
function withTotals(levels: readonly BookLevel[]): Array<[string, string, number]> {
  let total = 0;
  return levels.map(([price, quantity]) => [price, quantity, (total += Number(quantity))]);
}

/** Book messages of `symbol` received on this client, counted (the e2e test reads the count). */
function useBookMessages(symbol: string): number {
  const { client } = useRealtime();
  const [count, setCount] = useState(0);
  useEffect(() => {
    setCount(0);
    const counted = ({ data }: { data: { symbol: string } }) => {
      if (data.symbol === symbol) setCount((n) => n + 1);
    };
    const stops = [
      client.on('orderbook.snapshot', counted),
      client.on('orderbook.update', counted),
    ];
    return () => stops.forEach((stop) => stop());
  }, [client, symbol]);
  return count;
}

/**
 * The verified order book (the SDK's OrderBookSync: snapshot, updates, checksums) of
 * `symbol` with the layout's feed: asks above, bids below, the mid price and the spread
 * between, a cumulative-size bar behind each level; and its depth chart.
 */
export function OrderBookPanel({ symbol, layout }: { symbol: string; layout: Layout }) {
  const feed = BOOK_FEEDS[layout];
  // The feed is always given: crossing back to the desk switches the phone's feed back.
  const { state, bids, asks } = useOrderBook(symbol, feed.depth ?? FULL_BOOK_LEVELS, {
    rate: feed.rate,
    depth: feed.depth,
  });
  const messages = useBookMessages(symbol);
  const { tick, priceDecimals } = marketSpec(symbol);
  const shownBids = withTotals(bids.slice(0, feed.rows));
  const shownAsks = withTotals(asks.slice(0, feed.rows));
  const most = Math.max(1e-9, shownBids.at(-1)?.[2] ?? 0, shownAsks.at(-1)?.[2] ?? 0);
  const touch =
    bids[0] && asks[0] ? spreadAndMid(bids[0][0], asks[0][0], tick, priceDecimals) : undefined;
  const row =
    (side: 'bid' | 'ask') =>
    ([price, quantity, total]: [string, string, number]) => (
      <tr
        key={price}
        className={`level ${side}`}
        style={{ '--fill': `${((total / most) * 100).toFixed(1)}%` } as CSSProperties}
      >
        <td>{price}</td>
        <td>{quantity}</td>
        <td>{total.toFixed(3)}</td>
      </tr>
    );
  return (
    <>
      <section
        id="book-panel"
        data-rate={feed.rate ?? 'realtime'}
        data-depth={feed.depth ?? 'full'}
        data-messages={messages}
      >
        <h2>
          Order book <small id="book-state">{state}</small>{' '}
          <small id="book-feed">
            {feed.depth ? `top ${feed.depth}` : 'full book'}, {feed.rate ?? 'realtime'}
          </small>
        </h2>
        <table id="orderbook">
          <thead>
            <tr>
              <th>Price</th>
              <th>Size</th>
              <th>Total</th>
            </tr>
          </thead>
          <tbody>
            {[...shownAsks].reverse().map(row('ask'))}
            <tr id="touch">
              <td id="mid" title="mid price">
                {touch?.mid ?? '-'}
              </td>
              <td colSpan={2}>
                spread <span id="spread">{touch?.spread ?? '-'}</span>{' '}
                <small id="spread-bps">{touch ? `${touch.bps} bps` : ''}</small>
              </td>
            </tr>
            {shownBids.map(row('bid'))}
          </tbody>
        </table>
      </section>
      <section id="depth-panel">
        <h2>
          Depth <small>cumulative size by price</small>
        </h2>
        <DepthChart symbol={symbol} bids={bids} asks={asks} />
      </section>
    </>
  );
}
