import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import type { RunningProcess } from './support/processes.js';
import { launchChromium, startDemo } from './support/demo.js';

const OUTPUT = 'test-output';

describe('demo page in a real browser (Debian chromium via playwright-core)', () => {
  let demo: RunningProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const started = await startDemo();
    demo = started.process;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(`${started.url}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('shows live tickers, a synced order book, trades and candles', async () => {
    await page.waitForSelector('#status.connected', { timeout: 10_000 });
    await page.waitForFunction(
      () => document.querySelectorAll('#tickers tbody tr').length === 3,
      undefined,
      { timeout: 10_000 },
    );
    const firstPrices = await page.$$eval('#tickers .price', (cells) =>
      cells.map((c) => c.textContent),
    );
    await page.waitForFunction(
      (before) =>
        [...document.querySelectorAll('#tickers .price')].some(
          (c, i) => c.textContent !== before[i],
        ),
      firstPrices,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      () => document.querySelector('#book-state')?.textContent === 'synced',
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.$$eval('#orderbook tr.level.bid', (rows) => rows.length)).toBeGreaterThan(5);
    expect(await page.$$eval('#orderbook tr.level.ask', (rows) => rows.length)).toBeGreaterThan(5);
    await page.waitForFunction(
      () => document.querySelectorAll('#trades tr').length > 2,
      undefined,
      { timeout: 10_000 },
    );
    // The candle chart (Lightweight Charts) draws on canvases and says how many bars it holds.
    await page.waitForFunction(
      () =>
        document.querySelector('#klines canvas') !== null &&
        Number(document.querySelector('#klines')?.getAttribute('data-bars')) > 0,
      undefined,
      { timeout: 10_000 },
    );
  }, 60_000);

  it("signs in a demo user and shows that user's orders, fills and balance", async () => {
    await page.selectOption('#user', 'bob');
    await page.click('#signin');
    await page.waitForFunction(
      () => document.querySelector('#status')?.textContent === 'connected as bob',
      undefined,
      { timeout: 10_000 },
    );
    await page.waitForSelector('#orders tr.order', { timeout: 30_000 });
    await page.waitForSelector('#fills tr.fill', { timeout: 30_000 });
    await page.waitForFunction(
      () => document.querySelector('#balance')?.textContent !== '-',
      undefined,
      { timeout: 30_000 },
    );
    await page.screenshot({ path: `${OUTPUT}/demo-desktop.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${OUTPUT}/demo-phone.png`, fullPage: true });
  }, 60_000);

  it('places, cancels and is refused orders from the form, and asks the assistant, over the live connection', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.waitForSelector('#order-form', { timeout: 10_000 });
    const last = Number(await page.textContent('#tickers tr.selected .price'));
    const result = () => page.textContent('#order-result');

    // A limit buy at half the price rests: it shows among the open orders, and is cancelled there.
    await page.fill('#order-price', (last / 2).toFixed(1));
    await page.fill('#order-quantity', '0.010');
    await page.click('#buy');
    await page.waitForFunction(
      () => /^order \d+ new$/.test(document.querySelector('#order-result')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    const orderId = (await result())!.split(' ')[1]!;
    const row = `#open-orders tr.open-order[data-order-id="${orderId}"]`;
    await page.waitForSelector(row, { timeout: 10_000 });
    expect(await page.textContent(row)).toContain(`0.010 @ ${(last / 2).toFixed(1)}`);
    await page.screenshot({ path: `${OUTPUT}/demo-requests-desktop.png`, fullPage: true });
    await page.click(`${row} button.cancel`);
    await page.waitForSelector(row, { state: 'detached', timeout: 10_000 });
    expect(await page.textContent('#cancel-result')).toBe(`order ${orderId} cancelled`);

    // A market sell fills at once.
    await page.selectOption('#order-type', 'market');
    expect(await page.isDisabled('#order-price')).toBe(true);
    await page.fill('#order-quantity', '0.005');
    await page.click('#sell');
    await page.waitForFunction(
      () => /^order \d+ filled$/.test(document.querySelector('#order-result')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );

    // Beyond the account's means: the backend's refusal, shown with its code.
    await page.fill('#order-quantity', '1000');
    await page.click('#buy');
    await page.waitForFunction(
      () => document.querySelector('#order-result')?.textContent?.startsWith('INSUFFICIENT_FUNDS:'),
      undefined,
      { timeout: 10_000 },
    );

    await page.fill('#question', 'What is the spread of ETH?');
    await page.click('#ask');
    await page.waitForFunction(
      () => /^The spread is /.test(document.querySelector('#answer')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.textContent('#answer')).toMatch(/\(bid \d+\.\d\d, ask \d+\.\d\d\)\.$/);
    await page.screenshot({ path: `${OUTPUT}/demo-requests-after.png`, fullPage: true });
  }, 60_000);

  it('logged no console error or warning', () => {
    expect(problems).toEqual([]);
  });
});
