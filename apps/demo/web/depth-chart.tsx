import { useEffect, useRef, useState } from 'react';
import {
  AreaSeries,
  ColorType,
  createOptionsChart,
  LineType,
  type AreaData,
  type IChartApiBase,
  type ISeriesApi,
  type WhitespaceData,
} from 'lightweight-charts';
import type { BookLevel } from '../../../libs/realtime/src/market/order-book.js';
import { COLORS, marketSpec } from './demo-hooks.js';

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

/**
 * The book's depth chart on lightweight-charts' options chart (a price horizontal scale):
 * cumulative bids in green, asks in red, stepped as a book is.
 */
export function DepthChart({
  symbol,
  bids,
  asks,
}: {
  symbol: string;
  bids: readonly BookLevel[];
  asks: readonly BookLevel[];
}) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<{
    api: IChartApiBase<number>;
    bids: ISeriesApi<'Area', number>;
    asks: ISeriesApi<'Area', number>;
  } | null>(null);
  const [points, setPoints] = useState(0);
  const { tick, priceDecimals } = marketSpec(symbol);

  useEffect(() => {
    const api = createOptionsChart(container.current!, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: COLORS.background },
        textColor: COLORS.text,
        fontSize: 11,
      },
      grid: { vertLines: { visible: false }, horzLines: { color: COLORS.grid } },
      localization: { precision: priceDecimals },
      rightPriceScale: { borderColor: COLORS.grid, scaleMargins: { top: 0.12, bottom: 0.02 } },
      timeScale: { borderColor: COLORS.grid },
      handleScroll: false,
      handleScale: false,
    });
    const side = (line: string, fill: string) =>
      api.addSeries(AreaSeries, {
        lineType: LineType.WithSteps,
        lineColor: line,
        topColor: fill,
        bottomColor: fill,
        lineWidth: 2,
        priceLineVisible: false,
        lastValueVisible: false,
        priceFormat: { type: 'volume' },
      });
    chart.current = {
      api,
      bids: side(COLORS.up, COLORS.upFill),
      asks: side(COLORS.down, COLORS.downFill),
    };
    return () => {
      chart.current = null;
      api.remove();
    };
  }, [symbol, priceDecimals]);

  useEffect(() => {
    const drawn = chart.current;
    if (!drawn) return;
    const curves = depthCurves(bids, asks, tick, priceDecimals);
    drawn.bids.setData(curves.bids);
    drawn.asks.setData(curves.asks);
    drawn.api.timeScale().fitContent();
    setPoints(curves.bids.length);
  }, [bids, asks, tick, priceDecimals]);

  return (
    <div
      id="depth-chart"
      ref={container}
      className="chart"
      role="img"
      aria-label={`${symbol} cumulative depth`}
      data-points={points}
      data-bid-levels={bids.length}
      data-ask-levels={asks.length}
    />
  );
}
