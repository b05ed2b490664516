import type { AreaData, WhitespaceData } from 'lightweight-charts';
import type { BookLevel } from '../../../libs/realtime/src/market/order-book.js';

// What the page reads off a book: the touch (spread, mid) and the depth curves.

/** Spread and mid of the best bid and ask, in the market's decimals (the mid one more). */
export function spreadAndMid(
  bid: string,
  ask: string,
  tick: number,
  decimals: number,
): { spread: string; mid: string; bps: string } {
  const ticks = Math.round((Number(ask) - Number(bid)) / tick);
  const mid = (Number(bid) + Number(ask)) / 2;
  return {
    spread: (ticks * tick).toFixed(decimals),
    mid: mid.toFixed(decimals + 1),
    bps: (((ticks * tick) / mid) * 10_000).toFixed(2),
  };
}

type DepthPoint = AreaData<number> | WhitespaceData<number>;

/** The two sides' cumulative quantity by price, one point per tick from the lowest bid to the highest ask. */
export interface DepthCurves {
  bids: DepthPoint[];
  asks: DepthPoint[];
}

/**
 * Cumulative depth: at each bid price, the quantity bid at that price or higher (what a sell
 * down to it would meet); at each ask price, the quantity asked at it or lower. Every tick of
 * the range is a point (blank on the other side's prices) so the chart's price axis, which
 * spaces points evenly, is linear in price and the spread shows as a gap.
 */
export function depthCurves(
  bids: readonly BookLevel[],
  asks: readonly BookLevel[],
  tick: number,
  decimals: number,
): DepthCurves {
  if (!bids.length || !asks.length) return { bids: [], asks: [] };
  const ticksOf = (price: string) => Math.round(Number(price) / tick);
  const priceOf = (ticks: number) => Number((ticks * tick).toFixed(decimals));
  const bidAt = new Map(bids.map(([price, quantity]) => [ticksOf(price), Number(quantity)]));
  const askAt = new Map(asks.map(([price, quantity]) => [ticksOf(price), Number(quantity)]));
  const low = Math.min(...bidAt.keys());
  const bestBid = Math.max(...bidAt.keys());
  const bestAsk = Math.min(...askAt.keys());
  const high = Math.max(...askAt.keys());
  const curves: DepthCurves = { bids: [], asks: [] };
  let total = 0;
  const bidTotals: number[] = [];
  for (let t = bestBid; t >= low; t--) bidTotals.push((total += bidAt.get(t) ?? 0));
  bidTotals.reverse();
  total = 0;
  for (let t = low; t <= high; t++) {
    const time = priceOf(t);
    if (t <= bestBid) curves.bids.push({ time, value: bidTotals[t - low]! });
    else curves.bids.push({ time });
    if (t >= bestAsk) curves.asks.push({ time, value: (total += askAt.get(t) ?? 0) });
    else curves.asks.push({ time });
  }
  return curves;
}
