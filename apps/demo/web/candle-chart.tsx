import { useEffect, useRef, useState } from 'react';
import {
  CandlestickSeries,
  ColorType,
  createChart,
  CrosshairMode,
  HistogramSeries,
  type CandlestickData,
  type HistogramData,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { CandlesAnswer } from '../src/requests/market-candles.js';
import type { Candle } from '../src/simulator/candle-history.js';
import { COLORS, marketSpec, useRealtime } from './demo-hooks.js';

type Kline = Candle;

/** Closed candles asked for on subscribe: about five hours of one-minute bars. */
const HISTORY_LIMIT = 300;
/** Candles change many times a second; a chart redrawn once a second reads the same. */
const KLINE_RATE = '1000ms';

/** What the chart shows, also set as data- attributes (the e2e test reads them). */
interface ChartView {
  /** Candles the history request drew. */
  history: number;
  /** Candles on the chart. */
  bars: number;
  /** Live `kline.update`s applied. */
  live: number;
  last: Kline | undefined;
}

function candleOf(kline: Kline): CandlestickData<UTCTimestamp> {
  return {
    time: (kline.openTime / 1000) as UTCTimestamp,
    open: Number(kline.open),
    high: Number(kline.high),
    low: Number(kline.low),
    close: Number(kline.close),
  };
}

function volumeOf(kline: Kline): HistogramData<UTCTimestamp> {
  const up = Number(kline.close) >= Number(kline.open);
  return {
    time: (kline.openTime / 1000) as UTCTimestamp,
    value: Number(kline.volume),
    color: up ? 'rgba(14, 203, 129, 0.35)' : 'rgba(246, 70, 93, 0.35)',
  };
}

/**
 * One-minute candles of `symbol` on TradingView's lightweight-charts: the history from the
 * `market.candles` request, then the klines channel at a 1 s rate (the forming candle, and
 * each new one). Live candles that come before the history are held and applied after it;
 * after a reconnect the history is asked for again (the minutes missed meanwhile).
 */
export function CandleChart({ symbol }: { symbol: string }) {
  const { client } = useRealtime();
  const container = useRef<HTMLDivElement>(null);
  const [view, setView] = useState<ChartView>({ history: 0, bars: 0, live: 0, last: undefined });
  const { tick, priceDecimals } = marketSpec(symbol);

  useEffect(() => {
    const chart = createChart(container.current!, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: COLORS.background },
        textColor: COLORS.text,
        fontSize: 11,
      },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: COLORS.grid },
      timeScale: { borderColor: COLORS.grid, timeVisible: true, rightOffset: 4 },
    });
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: COLORS.up,
      downColor: COLORS.down,
      wickUpColor: COLORS.up,
      wickDownColor: COLORS.down,
      borderVisible: false,
      priceFormat: { type: 'price', precision: priceDecimals, minMove: tick },
    });
    // Candles above, volume in the bottom fifth: the two do not overlap.
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.24 } });
    const volume = chart.addSeries(HistogramSeries, {
      priceScaleId: '',
      priceFormat: { type: 'volume' },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });

    let shown: ChartView = { history: 0, bars: 0, live: 0, last: undefined };
    let lastTime = 0;
    // Live candles received while the history is on its way.
    let held: Kline[] | null = [];
    let disposed = false;

    const apply = (kline: Kline) => {
      const time = kline.openTime / 1000;
      // The chart appends or replaces its last bar only; an older minute is in the history.
      if (time < lastTime) return;
      candles.update(candleOf(kline));
      volume.update(volumeOf(kline));
      shown = {
        ...shown,
        bars: shown.bars + (time > lastTime ? 1 : 0),
        live: shown.live + 1,
        last: kline,
      };
      lastTime = time;
      setView(shown);
    };

    const loadHistory = () => {
      held ??= [];
      client
        .request<CandlesAnswer>('market.candles', {
          symbol,
          interval: '1m',
          limit: HISTORY_LIMIT,
        })
        .then(
          (answer) => {
            if (disposed) return;
            candles.setData(answer.candles.map(candleOf));
            volume.setData(answer.candles.map(volumeOf));
            lastTime = (answer.candles.at(-1)?.openTime ?? 0) / 1000;
            shown = {
              ...shown,
              history: answer.candles.length,
              bars: answer.candles.length,
              last: answer.candles.at(-1),
            };
            setView(shown);
            const early = held ?? [];
            held = null;
            for (const kline of early) apply(kline);
          },
          () => {
            // No history (refused or timed out): draw the live candles alone.
            const early = held ?? [];
            held = null;
            for (const kline of early) apply(kline);
          },
        );
    };

    const subscription = { channel: 'klines', symbol, interval: '1m', rate: KLINE_RATE } as const;
    const stops = [
      client.on('kline.update', ({ data }) => {
        if (data.symbol !== symbol || data.interval !== '1m' || data.openTime === undefined) return;
        if (held) held.push(data as Kline);
        else apply(data as Kline);
      }),
      client.onResubscribed(() => loadHistory()),
    ];
    void client.subscribe(subscription).catch(() => undefined);
    loadHistory();
    return () => {
      disposed = true;
      stops.forEach((stop) => stop());
      void client.unsubscribe(subscription).catch(() => undefined);
      chart.remove();
    };
  }, [client, symbol, tick, priceDecimals]);

  const last = view.last;
  const up = last ? Number(last.close) >= Number(last.open) : true;
  return (
    <>
      <p id="candle-legend" className={up ? 'up' : 'down'}>
        {last ? (
          <>
            1m <span>O {last.open}</span> <span>H {last.high}</span> <span>L {last.low}</span>{' '}
            <span>C {last.close}</span> <span className="muted">V {last.volume}</span>
          </>
        ) : (
          'loading candles...'
        )}
      </p>
      <div
        id="klines"
        ref={container}
        className="chart"
        role="img"
        aria-label={`${symbol} one-minute candles`}
        data-history-bars={view.history}
        data-bars={view.bars}
        data-live-updates={view.live}
        data-last-open-time={last?.openTime ?? ''}
        data-last-close={last?.close ?? ''}
      />
    </>
  );
}
