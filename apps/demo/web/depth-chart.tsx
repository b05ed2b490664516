import { useEffect, useRef, useState } from 'react';
import {
  AreaSeries,
  ColorType,
  createOptionsChart,
  LineType,
  type IChartApiBase,
  type ISeriesApi,
} from 'lightweight-charts';
import type { BookLevel } from '../../../libs/realtime/src/market/order-book.js';
import { depthCurves } from './book-figures.js';
import { COLORS, marketSpec } from './demo-hooks.js';

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
