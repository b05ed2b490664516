import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { ClientNetwork } from './support/client-network.js';
import { command } from './support/gateway-harness.js';
import { launchChromium, startDemo } from './support/demo.js';
import type { RunningProcess } from './support/processes.js';

const SCREENSHOTS = 'test-output/screenshots';
const MINUTE = 60_000;

/** The page's candle and depth colours (apps/demo/web/demo-hooks.ts), as RGB. */
const UP: Rgb = [14, 203, 129];
const DOWN: Rgb = [246, 70, 93];
type Rgb = [number, number, number];

/** One Socket.IO event frame of the /ws namespace, parsed: `42/ws,["trade",{...}]`. */
function socketIoEvent(frame: string | Buffer): { name: string; args: unknown[] } | null {
  const match = /^42\/ws,\d*(\[.*)$/s.exec(String(frame));
  if (!match) return null;
  const [name, ...args] = JSON.parse(match[1]!) as [string, ...unknown[]];
  return { name, args };
}

/** What the page's browser said on the wire: its subscribes, and each envelope it received. */
interface Wire {
  subscribes: Array<Record<string, unknown>>;
  /** The methods of the requests sent. */
  requests: string[];
  received: Array<{ at: number; event: string; symbol?: string }>;
}

function recordWire(page: Page): Wire {
  const wire: Wire = { subscribes: [], requests: [], received: [] };
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => {
      const event = socketIoEvent(payload);
      if (event?.name === 'subscribe')
        wire.subscribes.push(event.args[0] as Record<string, unknown>);
      if (event?.name === 'request')
        wire.requests.push((event.args[0] as { method: string }).method);
    });
    socket.on('framereceived', ({ payload }) => {
      const event = socketIoEvent(payload);
      if (!event) return;
      // A batch carries several envelopes: count each.
      const envelopes = (event.name === 'batch' ? event.args[0] : [event.args[0]]) as Array<{
        event?: string;
        symbol?: string;
        data?: { symbol?: string };
      }>;
      for (const envelope of envelopes)
        wire.received.push({
          at: Date.now(),
          event: envelope?.event ?? event.name,
          symbol: envelope?.symbol ?? envelope?.data?.symbol,
        });
    });
  });
  return wire;
}

/** Pixels of the canvases under `selector` within `tolerance` of each colour, counted in the page. */
async function coloured(page: Page, selector: string, colours: Rgb[], tolerance = 36) {
  return page.evaluate(
    ({ selector, colours, tolerance }) =>
      colours.map(([r, g, b]) => {
        let count = 0;
        for (const canvas of document.querySelectorAll<HTMLCanvasElement>(`${selector} canvas`)) {
          if (!canvas.width || !canvas.height) continue;
          // Read through a copy made for reading: the chart's own canvases are not, and
          // Chrome warns of repeated readbacks from them.
          const copy = document.createElement('canvas');
          [copy.width, copy.height] = [canvas.width, canvas.height];
          const context = copy.getContext('2d', { willReadFrequently: true })!;
          context.drawImage(canvas, 0, 0);
          const { data } = context.getImageData(0, 0, copy.width, copy.height);
          for (let i = 0; i < data.length; i += 4)
            if (
              Math.abs(data[i]! - r) <= tolerance &&
              Math.abs(data[i + 1]! - g) <= tolerance &&
              Math.abs(data[i + 2]! - b) <= tolerance
            )
              count++;
        }
        return count;
      }),
    { selector, colours, tolerance },
  );
}

/** A data- attribute of the element `selector` names, as a number (NaN when absent). */
async function dataNumber(page: Page, selector: string, name: string): Promise<number> {
  return Number(await page.getAttribute(selector, `data-${name}`));
}

/** The book as shown, read in one go: best bid and ask rows, the mid and spread cells, rows a side. */
async function shownBook(page: Page) {
  return page.evaluate(() => {
    const text = (selector: string) => document.querySelector(selector)?.textContent ?? '';
    const bids = [...document.querySelectorAll('#orderbook tr.level.bid td:first-child')];
    const asks = [...document.querySelectorAll('#orderbook tr.level.ask td:first-child')];
    return {
      bestBid: bids[0]?.textContent ?? '',
      // Asks are listed highest first: the best is the last row.
      bestAsk: asks.at(-1)?.textContent ?? '',
      bidRows: bids.length,
      askRows: asks.length,
      mid: text('#mid'),
      spread: text('#spread'),
    };
  });
}

const SIZES = [
  {
    name: 'desktop',
    viewport: { width: 1440, height: 900 },
    feed: { rate: undefined, depth: undefined },
    rows: 20,
    user: 'alice',
  },
  {
    name: 'phone',
    viewport: { width: 390, height: 844 },
    feed: { rate: '1000ms', depth: 10 },
    rows: 10,
    user: 'carol',
  },
] as const;

describe('demo trading screen in Chromium (lightweight-charts, book feeds by layout)', () => {
  let demo: RunningProcess;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ({ process: demo, url } = await startDemo());
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('serves candle history (market.candles) and the clock (market.time) over the live connection', async () => {
    const socket = io(url + '/ws', { transports: ['websocket'], reconnection: false });
    try {
      await new Promise((resolve) => socket.once('connected', resolve));
      const request = (method: string, params?: object) =>
        command(socket, 'request', { method, ...(params ? { params } : {}) });
      const answer = await request('market.candles', { symbol: 'ETHUSDT', interval: '1m' });
      expect(answer).toMatchObject({ ok: true, result: { symbol: 'ETHUSDT', interval: '1m' } });
      const candles = answer.result.candles as Array<Record<string, unknown>>;
      // 200 by default, oldest first, whole minutes up to the last closed one.
      expect(candles).toHaveLength(200);
      const current = Math.floor(Date.now() / MINUTE) * MINUTE;
      expect(candles.at(-1)!.openTime).toBeLessThan(current);
      candles.forEach((candle, i) => {
        expect(candle).toMatchObject({ symbol: 'ETHUSDT', interval: '1m', closed: true });
        expect(candle.close).toMatch(/^\d+\.\d\d$/);
        if (i > 0) expect(candle.openTime).toBe((candles[i - 1]!.openTime as number) + MINUTE);
      });
      const few = await request('market.candles', { symbol: 'BTCUSDT', interval: '1m', limit: 5 });
      expect(few.result.candles).toHaveLength(5);

      for (const [params, code] of [
        [{ symbol: 'BTCUSDT', interval: '5m' }, 'UNSUPPORTED_INTERVAL'],
        [{ symbol: 'BTCUSDT', interval: '1m', limit: 501 }, 'INVALID_LIMIT'],
        [{ symbol: 'BTCUSDT', interval: '2m' }, 'INVALID_INTERVAL'],
        [{ symbol: 'DOGEUSDT', interval: '1m' }, 'INVALID_SYMBOL'],
      ] as const) {
        const refused = await request('market.candles', params);
        expect({ params, code: refused.error?.code }).toEqual({ params, code });
      }

      const before = Date.now();
      const time = await request('market.time');
      expect(time.result.serverTime).toBeGreaterThanOrEqual(before - 1000);
      expect(time.result.serverTime).toBeLessThanOrEqual(Date.now() + 1000);
    } finally {
      socket.close();
    }
  });

  describe.each(SIZES)('$name ($viewport.width x $viewport.height)', (size) => {
    let page: Page;
    let wire: Wire;
    const problems: string[] = [];

    beforeAll(async () => {
      page = await browser.newPage({ viewport: size.viewport });
      wire = recordWire(page);
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning')
          problems.push(`${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      await page.goto(`${url}/`);
      await page.waitForSelector('#status.connected', { timeout: 10_000 });
    }, 30_000);

    afterAll(async () => {
      await page?.close();
    });

    it('lays the panels out for its size, with nothing wider than the screen', async () => {
      expect(await page.getAttribute('main', 'data-layout')).toBe(size.name);
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect(overflow).toBeLessThanOrEqual(0);
      const boxes = await page.evaluate(() =>
        ['#chart-panel', '#book-panel', '#tape-panel'].map((selector) => {
          const box = document.querySelector(selector)!.getBoundingClientRect();
          return { left: box.left, top: box.top, width: box.width };
        }),
      );
      const [chart, book, tape] = boxes as [
        { left: number; top: number; width: number },
        { left: number; top: number; width: number },
        { left: number; top: number; width: number },
      ];
      if (size.name === 'phone') {
        // Stacked: one column, the chart above the book above the tape.
        expect(chart.left).toBe(book.left);
        expect(chart.top).toBeLessThan(book.top);
        expect(book.top).toBeLessThan(tape.top);
        expect(chart.width).toBeGreaterThan(size.viewport.width * 0.9);
      } else {
        // Side by side on one row: chart, then book, then tape.
        expect(chart.top).toBe(book.top);
        expect(book.top).toBe(tape.top);
        expect(chart.left).toBeLessThan(book.left);
        expect(book.left).toBeLessThan(tape.left);
      }
    });

    it('draws the history candles, then follows the forming one live', async () => {
      await page.waitForFunction(
        () => Number(document.querySelector('#klines')?.getAttribute('data-live-updates')) > 0,
        undefined,
        { timeout: 15_000 },
      );
      const history = await dataNumber(page, '#klines', 'history-bars');
      // The demo starts with four hours of one-minute candles; the request asks for 300.
      expect(history).toBeGreaterThanOrEqual(200);
      expect(history).toBeLessThanOrEqual(300);
      // History holds the closed candles; the forming one came on the klines channel.
      expect(await dataNumber(page, '#klines', 'bars')).toBeGreaterThan(history);
      const openTime = await dataNumber(page, '#klines', 'last-open-time');
      expect(Math.abs(openTime - Math.floor(Date.now() / MINUTE) * MINUTE)).toBeLessThanOrEqual(
        MINUTE,
      );
      const [up, down] = await coloured(page, '#klines', [UP, DOWN]);
      expect(up).toBeGreaterThan(500);
      expect(down).toBeGreaterThan(500);

      // Live: more updates come, and the forming candle closes at the last trade's price.
      const updates = await dataNumber(page, '#klines', 'live-updates');
      await page.waitForFunction(
        (before) =>
          Number(document.querySelector('#klines')?.getAttribute('data-live-updates')) > before,
        updates,
        { timeout: 10_000 },
      );
      await page.waitForFunction(
        () =>
          document.querySelector('#klines')?.getAttribute('data-last-close') ===
          document.querySelector('#tickers tr.selected .price')?.textContent,
        undefined,
        { timeout: 20_000, polling: 100 },
      );
      // The klines subscription asked for a 1 s rate.
      expect(wire.subscribes).toContainEqual(
        expect.objectContaining({ channel: 'klines', interval: '1m', rate: '1000ms' }),
      );
    }, 60_000);

    it(`shows the ${size.rows}-level book with its mid and spread, and its depth chart`, async () => {
      await page.waitForFunction(
        () => document.querySelector('#book-state')?.textContent === 'synced',
        undefined,
        { timeout: 10_000 },
      );
      const book = await shownBook(page);
      expect(book.bidRows).toBe(size.rows);
      expect(book.askRows).toBe(size.rows);
      const [bid, ask] = [Number(book.bestBid), Number(book.bestAsk)];
      expect(bid).toBeLessThan(ask);
      expect(Number(book.spread)).toBeCloseTo(ask - bid, 6);
      expect(Number(book.mid)).toBeCloseTo((bid + ask) / 2, 6);

      await page.waitForFunction(
        () => Number(document.querySelector('#depth-chart')?.getAttribute('data-points')) > 0,
        undefined,
        { timeout: 10_000 },
      );
      if (size.feed.depth)
        expect(await dataNumber(page, '#depth-chart', 'bid-levels')).toBe(size.feed.depth);
      const [bidLine, askLine] = await coloured(page, '#depth-chart', [UP, DOWN]);
      expect(bidLine).toBeGreaterThan(100);
      expect(askLine).toBeGreaterThan(100);
    }, 30_000);

    it(`subscribes the book ${size.feed.depth ? 'at 1000ms, 10 levels' : 'realtime, whole'} and gets it that often`, async () => {
      const subscribes = wire.subscribes.filter((s) => s.channel === 'orderbook');
      expect(subscribes.length).toBeGreaterThan(0);
      const last = subscribes.at(-1)!;
      expect(last.rate ?? 'realtime').toBe(size.feed.rate ?? 'realtime');
      expect(last.depth ?? undefined).toBe(size.feed.depth);
      expect(await page.getAttribute('#book-panel', 'data-rate')).toBe(
        size.feed.rate ?? 'realtime',
      );

      // The simulator changes the book every 200 ms: about 25 messages in 5 s realtime, 5 at 1 s.
      const from = Date.now();
      await page.waitForTimeout(5000);
      const messages = wire.received.filter(
        (m) => m.at >= from && m.event === 'orderbook.update' && m.symbol === 'BTCUSDT',
      ).length;
      if (size.feed.rate === '1000ms') {
        expect(messages).toBeGreaterThanOrEqual(3);
        expect(messages).toBeLessThanOrEqual(7);
      } else {
        expect(messages).toBeGreaterThanOrEqual(15);
      }
      // A conflated feed's offset jumps are no gaps.
      expect(await page.getAttribute('#gaps', 'data-count')).toBe('0');
    }, 30_000);

    it('shows trades on the tape as they happen', async () => {
      await page.waitForFunction(
        () => document.querySelectorAll('#trades tbody tr.trade').length >= 3,
        undefined,
        { timeout: 10_000 },
      );
      const newest = await page.getAttribute('#trades tbody tr.trade', 'data-trade-id');
      await page.waitForFunction(
        (before) =>
          document.querySelector('#trades tbody tr.trade')?.getAttribute('data-trade-id') !==
          before,
        newest,
        { timeout: 10_000 },
      );
      const row = await page.$$eval('#trades tbody tr.trade:first-child td', (cells) =>
        cells.map((cell) => cell.textContent ?? ''),
      );
      expect(row[0]).toMatch(/^\d+\.\d+$/);
      expect(row[1]).toMatch(/^\d+\.\d{4}$/);
      expect(row[2]).toMatch(/^\d\d:\d\d:\d\d$/);
    });

    it('keeps the age of the last message, the gaps, recoveries and round trip up to date', async () => {
      const ages: string[] = [];
      for (let i = 0; i < 6; i++) {
        ages.push((await page.textContent('#last-message')) ?? '');
        await page.waitForTimeout(300);
      }
      for (const age of ages) expect(age).toMatch(/^last message \d+\.\d s ago$/);
      // Messages come every few hundred ms and the age ticks every 250 ms: it changes.
      expect(new Set(ages).size).toBeGreaterThan(1);
      expect(await dataNumber(page, '#last-message', 'age-ms')).toBeLessThan(3000);
      expect(await page.textContent('#gaps')).toBe('gaps 0');
      expect(await page.textContent('#recoveries')).toBe(
        'reconnects 0 · recovered 0 · refreshed 0 · lost 0',
      );
      await page.waitForFunction(
        () => /^rtt \d+ ms$/.test(document.querySelector('#latency')?.textContent ?? ''),
        undefined,
        { timeout: 10_000 },
      );
      await page.screenshot({ path: `${SCREENSHOTS}/trading-${size.name}.png`, fullPage: true });
    });

    it("signs in and shows the user's balance, orders and portfolio beside the market", async () => {
      await page.selectOption('#user', size.user);
      await page.click('#signin');
      await page.waitForFunction(
        (user) => document.querySelector('#status')?.textContent === `connected as ${user}`,
        size.user,
        { timeout: 10_000 },
      );
      await page.waitForFunction(
        () => /^-?\d+\.\d\d$/.test(document.querySelector('#balance')?.textContent ?? ''),
        undefined,
        { timeout: 10_000 },
      );
      // An order of its own, resting far from the market: it shows at once.
      const last = Number(await page.textContent('#tickers tr.selected .price'));
      await page.fill('#order-price', (last / 2).toFixed(1));
      await page.fill('#order-quantity', '0.010');
      await page.click('#buy');
      await page.waitForFunction(
        () => /^order \d+ new$/.test(document.querySelector('#order-result')?.textContent ?? ''),
        undefined,
        { timeout: 10_000 },
      );
      const orderId = (await page.textContent('#order-result'))!.split(' ')[1]!;
      await page.waitForSelector(`#open-orders tr.open-order[data-order-id="${orderId}"]`, {
        timeout: 10_000,
      });
      await page.waitForSelector(`#orders tr.order[data-order-id="${orderId}"]`, {
        timeout: 10_000,
      });
      await page.waitForFunction(
        () => /^-?\d+\.\d\d$/.test(document.querySelector('#equity')?.textContent ?? ''),
        undefined,
        { timeout: 30_000 },
      );
      // The new connection drew the chart and the book again.
      await page.waitForFunction(
        () => Number(document.querySelector('#klines')?.getAttribute('data-history-bars')) > 0,
        undefined,
        { timeout: 10_000 },
      );
      await page.waitForFunction(
        () => document.querySelector('#book-state')?.textContent === 'synced',
        undefined,
        { timeout: 10_000 },
      );
      await page.screenshot({
        path: `${SCREENSHOTS}/trading-${size.name}-signed-in.png`,
        fullPage: true,
      });
    }, 60_000);

    it('switches the book feed when the viewport crosses the breakpoint, and back', async () => {
      const other = SIZES.find((s) => s.name !== size.name)!;
      const rowsAfter = async (viewport: { width: number; height: number }, rows: number) => {
        const from = wire.subscribes.length;
        await page.setViewportSize(viewport);
        await page.waitForFunction(
          (rows) =>
            document.querySelectorAll('#orderbook tr.level.bid').length === rows &&
            document.querySelector('#book-state')?.textContent === 'synced',
          rows,
          { timeout: 10_000 },
        );
        return wire.subscribes.slice(from).filter((s) => s.channel === 'orderbook');
      };
      const switched = await rowsAfter(other.viewport, other.rows);
      expect(await page.getAttribute('main', 'data-layout')).toBe(other.name);
      expect(switched.at(-1)).toMatchObject({ channel: 'orderbook', symbol: 'BTCUSDT' });
      expect(switched.at(-1)!.rate ?? 'realtime').toBe(other.feed.rate ?? 'realtime');
      expect(switched.at(-1)!.depth).toBe(other.feed.depth);
      const back = await rowsAfter(size.viewport, size.rows);
      expect(back.at(-1)!.rate ?? 'realtime').toBe(size.feed.rate ?? 'realtime');
      expect(back.at(-1)!.depth).toBe(size.feed.depth);
      const book = await shownBook(page);
      expect(Number(book.spread)).toBeCloseTo(Number(book.bestAsk) - Number(book.bestBid), 6);
    }, 30_000);

    it('shows another market when its row is clicked: chart history, book and tape of that symbol', async () => {
      await page.click('#tickers tbody tr:nth-child(2)');
      await page.waitForSelector('#tickers tr.selected', { timeout: 5000 });
      expect(await page.textContent('#tickers tr.selected td:first-child')).toBe('ETHUSDT');
      // ETH trades near 3500 (BTC near 65000): the chart, the book and the tape moved over.
      const nearEth = (value: string | null | undefined) => Math.abs(Number(value) - 3500) < 500;
      await page.waitForFunction(
        () =>
          Number(document.querySelector('#klines')?.getAttribute('data-history-bars')) > 0 &&
          Math.abs(
            Number(document.querySelector('#klines')?.getAttribute('data-last-close')) - 3500,
          ) < 500,
        undefined,
        { timeout: 10_000 },
      );
      await page.waitForFunction(
        () =>
          Math.abs(
            Number(document.querySelector('#orderbook tr.level.bid td')?.textContent) - 3500,
          ) < 500 && document.querySelector('#book-state')?.textContent === 'synced',
        undefined,
        { timeout: 10_000 },
      );
      await page.waitForFunction(
        () =>
          Math.abs(
            Number(document.querySelector('#trades tbody tr.trade td')?.textContent) - 3500,
          ) < 500,
        undefined,
        { timeout: 10_000 },
      );
      expect(nearEth(await page.textContent('#mid'))).toBe(true);
      const eth = wire.subscribes.filter(
        (s) => s.symbol === 'ETHUSDT' && s.channel === 'orderbook',
      );
      expect(eth.at(-1)!.depth).toBe(size.feed.depth);
      await page.screenshot({
        path: `${SCREENSHOTS}/trading-${size.name}-ethusdt.png`,
        fullPage: true,
      });
    }, 30_000);

    it('logged no console error or warning', () => {
      expect(problems).toEqual([]);
    });
  });

  describe('through a network that drops', () => {
    let network: ClientNetwork;
    let page: Page;
    let wire: Wire;

    beforeAll(async () => {
      network = await new ClientNetwork(Number(new URL(url).port)).start();
      page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      wire = recordWire(page);
      await page.goto(`${network.url}/`);
      await page.waitForSelector('#status.connected', { timeout: 10_000 });
      await page.waitForFunction(
        () => Number(document.querySelector('#klines')?.getAttribute('data-history-bars')) > 0,
        undefined,
        { timeout: 10_000 },
      );
    }, 30_000);

    afterAll(async () => {
      await page?.close();
      await network?.stop();
    });

    it('shows the silence, then the reconnect and its recoveries; the chart asks for its history again', async () => {
      expect(await page.getAttribute('#recoveries', 'data-reconnects')).toBe('0');
      const historyRequests = () => wire.requests.filter((m) => m === 'market.candles').length;
      const asked = historyRequests();
      network.goOffline();
      await page.waitForSelector('#status.reconnecting', { timeout: 10_000 });
      // The age keeps counting while nothing comes.
      await page.waitForFunction(
        () => Number(document.querySelector('#last-message')?.getAttribute('data-age-ms')) > 2000,
        undefined,
        { timeout: 10_000 },
      );
      network.goOnline();
      await page.waitForSelector('#status.connected', { timeout: 15_000 });
      await page.waitForFunction(
        () => document.querySelector('#recoveries')?.getAttribute('data-reconnects') === '1',
        undefined,
        { timeout: 10_000 },
      );
      const recovered = await dataNumber(page, '#recoveries', 'recovered');
      const refreshed = await dataNumber(page, '#recoveries', 'refreshed');
      // One outcome per public subscription: tickers, funding, klines, book, trades. The
      // trades' missed messages come again; the others take the current state; none is lost.
      expect(recovered).toBeGreaterThanOrEqual(1);
      expect(recovered + refreshed).toBe(5);
      expect(await page.getAttribute('#recoveries', 'data-lost')).toBe('0');
      expect(await page.textContent('#recovery')).toMatch(/^last reconnect: /);
      await page.waitForFunction(
        () => Number(document.querySelector('#last-message')?.getAttribute('data-age-ms')) < 2000,
        undefined,
        { timeout: 10_000 },
      );
      expect(historyRequests()).toBeGreaterThan(asked);
      await page.waitForFunction(
        () =>
          document.querySelector('#book-state')?.textContent === 'synced' &&
          Number(document.querySelector('#klines')?.getAttribute('data-history-bars')) > 0,
        undefined,
        { timeout: 10_000 },
      );
      await page.screenshot({ path: `${SCREENSHOTS}/trading-desktop-reconnected.png` });
    }, 60_000);
  });
});
