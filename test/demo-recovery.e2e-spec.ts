import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { ClientNetwork } from './support/client-network.js';
import { Recorder, command, until } from './support/gateway-harness.js';
import type { RunningProcess } from './support/processes.js';
import { launchChromium, startDemo } from './support/demo.js';

const OUTPUT = 'test-output';
const USER = 'carol';

describe('demo page: nothing lost across a reconnect (Debian chromium via playwright-core)', () => {
  let demo: RunningProcess;
  let demoUrl: string;
  let network: ClientNetwork;
  let browser: Browser;
  let page: Page;
  let observer: Socket;
  let fills: Recorder;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    network = new ClientNetwork(await restartDemo());
    await network.start();
    await observe();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (message) => {
      // Chromium reports each refused reconnect attempt while offline; nothing else may show.
      if (/ERR_CONNECTION_(CLOSED|RESET|REFUSED)|WebSocket connection to/.test(message.text()))
        return;
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(`http://127.0.0.1:${network.port}/`);
  }, 60_000);

  /** Starts the demo (npm start) on a port of its own; returns the port. */
  async function restartDemo(): Promise<number> {
    const started = await startDemo();
    demoUrl = started.url;
    demo = started.process;
    return started.port;
  }

  /** The same user on a connection of its own that stays up: what the demo publishes for them. */
  async function observe(): Promise<void> {
    observer?.disconnect();
    const { token } = (await (await fetch(`${demoUrl}/demo/token?user=${USER}`)).json()) as any;
    observer = io(`${demoUrl}/ws`, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token },
    });
    fills = new Recorder(observer, ['order.filled']);
    await new Promise((resolve, reject) => {
      observer.once('connected', resolve);
      observer.once('connect_error', reject);
    });
    expect(await command(observer, 'subscribe.private', { channel: 'user.orders' })).toMatchObject({
      ok: true,
      channel: 'user.orders',
    });
  }

  afterAll(async () => {
    observer?.disconnect();
    await browser?.close();
    await network?.stop();
    await demo?.stop();
  });

  /** The order ids of the fills the page shows, newest first. */
  const pageFills = () =>
    page.$$eval('#fills tr.fill', (rows) => rows.map((row) => row.getAttribute('data-order-id')));
  /** The order ids of the last `count` fills the demo published for the user, newest first. */
  const publishedFills = (count: number) =>
    fills
      .payloads('order.filled')
      .map((envelope) => String(envelope.data.orderId))
      .reverse()
      .slice(0, count);

  it('shows a fill published while it was offline exactly once when back, and says it recovered', async () => {
    await page.selectOption('#user', USER);
    await page.click('#signin');
    await page.waitForFunction(
      (user) => document.querySelector('#status')?.textContent === `connected as ${user}`,
      USER,
      { timeout: 10_000 },
    );
    await page.waitForSelector('#fills tr.fill', { timeout: 30_000 });
    expect(await page.$('#recovery')).toBeNull();

    network.goOffline();
    await page.waitForSelector('#status.reconnecting', { timeout: 10_000 });
    const before = fills.payloads('order.filled').length;
    // The simulator fills an order of the user every few seconds: wait for one while offline.
    await until(
      () => fills.payloads('order.filled').length > before,
      30_000,
      'a fill while offline',
    );
    const missed = fills
      .payloads('order.filled')
      .slice(before)
      .map((envelope) => String(envelope.data.orderId));
    expect(await pageFills()).not.toContain(missed[0]);
    expect(await page.textContent('#status')).toBe(`reconnecting as ${USER}`);

    network.goOnline();
    await page.waitForFunction(
      (user) => document.querySelector('#status')?.textContent === `connected as ${user}`,
      USER,
      { timeout: 15_000 },
    );
    await page.waitForSelector('#recovery', { timeout: 10_000 });
    expect(await page.textContent('#recovery')).toMatch(
      /^last reconnect: recovered [1-9]\d* messages?$/,
    );
    expect(await page.$('#orders-lost')).toBeNull();
    for (const orderId of missed) {
      expect(await page.$$(`#fills tr.fill[data-order-id="${orderId}"]`)).toHaveLength(1);
    }
    // The list is the user's fills as published: newest first, none missing, none twice.
    await until(
      async () => {
        const shown = await pageFills();
        return JSON.stringify(shown) === JSON.stringify(publishedFills(shown.length));
      },
      5000,
      "the page's fills to be the published ones",
    );
    await page.screenshot({ path: `${OUTPUT}/demo-recovery.png`, fullPage: true });
  }, 90_000);

  it('after the demo restarted while it was offline, says what was not recovered and why, and starts its fills over', async () => {
    network.goOffline();
    await page.waitForSelector('#status.reconnecting', { timeout: 10_000 });
    const before = demo;
    network.target = await restartDemo();
    expect(await before.stop()).toBe('SIGTERM');
    await observe();

    network.goOnline();
    await page.waitForFunction(
      () =>
        /^last reconnect: not recovered: /.test(
          document.querySelector('#recovery')?.textContent ?? '',
        ),
      undefined,
      { timeout: 15_000 },
    );
    const said = await page.textContent('#recovery');
    expect(said).toMatch(/epoch_changed \([^)]*user\.orders/);
    expect(said).not.toContain('orderbook:');
    expect(await page.textContent('#orders-lost')).toMatch(
      /may be missing \(epoch_changed\): an exchange front end refetches them from its REST API\.$/,
    );
    // The fills of before are gone from the list; what it shows is the new demo's, newest first.
    await until(
      async () => {
        const shown = await pageFills();
        return (
          shown.length > 0 && JSON.stringify(shown) === JSON.stringify(publishedFills(shown.length))
        );
      },
      30_000,
      "the page's fills to be the restarted demo's",
    );
    await page.screenshot({ path: `${OUTPUT}/demo-recovery-lost.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${OUTPUT}/demo-recovery-phone.png`, fullPage: true });
  }, 90_000);

  it('logged no console error or warning', () => {
    expect(problems).toEqual([]);
  });
});
