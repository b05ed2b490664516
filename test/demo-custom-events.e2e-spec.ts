import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { type Browser } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command } from './support/gateway-harness.js';
import type { RunningProcess } from './support/processes.js';
import { launchChromium, startDemo } from './support/demo.js';

const OUTPUT = 'test-output';
const EIGHT_HOURS = 8 * 3600_000;
const DEMO_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

describe("demo app's own events (npm start): funding.rate and portfolio.update", () => {
  let demo: RunningProcess;
  let url: string;
  const sockets: Socket[] = [];

  async function connect(token?: string): Promise<{ socket: Socket; recorder: Recorder }> {
    const socket = io(url + '/ws', {
      transports: ['websocket'],
      reconnection: false,
      ...(token ? { auth: { token } } : {}),
    });
    sockets.push(socket);
    const recorder = new Recorder(socket);
    await recorder.waitFor('connected');
    return { socket, recorder };
  }

  beforeAll(async () => {
    ({ process: demo, url } = await startDemo());
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    expect(await demo.stop()).toBe('SIGTERM');
  });

  it('replays the current funding rate to a new subscriber, then streams the next ones', async () => {
    const { socket, recorder } = await connect();
    expect(await command(socket, 'subscribe', { channel: 'funding', symbol: 'ethusdt' })).toEqual({
      ok: true,
      channel: 'funding',
      symbol: 'ETHUSDT',
      position: { offset: expect.any(Number), epoch: expect.any(String) },
    });
    const [current] = await recorder.waitFor('funding.rate', 1, 2000);
    expect(current).toMatchObject({
      channel: 'funding',
      event: 'funding.rate',
      symbol: 'ETHUSDT',
      replay: true,
    });
    // The simulator publishes every 3 s: two more, each one more in offset, in the same epoch.
    const envelopes = await recorder.waitFor('funding.rate', 3, 10_000);
    expect(envelopes.slice(1).map((e) => e.offset)).toEqual([
      current.offset + 1,
      current.offset + 2,
    ]);
    expect(envelopes.map((e) => e.epoch)).toEqual(envelopes.map(() => current.epoch));
    for (const { data, ts } of envelopes) {
      expect(data.symbol).toBe('ETHUSDT');
      expect(data.rate).toMatch(/^-?0\.\d{6}$/);
      expect(Math.abs(Number(data.rate))).toBeLessThanOrEqual(0.0075);
      expect(data.nextFundingTime % EIGHT_HOURS).toBe(0);
      expect(data.nextFundingTime).toBeGreaterThan(data.timestamp);
      expect(data.nextFundingTime - data.timestamp).toBeLessThanOrEqual(EIGHT_HOURS);
      expect(ts).toBeGreaterThanOrEqual(data.timestamp);
    }
    expect(await command(socket, 'subscribe', { channel: 'funding', symbol: 'DOGEUSDT' })).toEqual(
      expect.objectContaining({
        ok: false,
        error: expect.objectContaining({ code: 'INVALID_SYMBOL' }),
      }),
    );
  });

  it('sends a signed-in user their own portfolio after fills, agreeing with their positions', async () => {
    const { token } = (await (await fetch(url + '/demo/token?user=carol')).json()) as any;
    const { socket, recorder } = await connect(token);
    for (const channel of ['user.portfolio', 'user.positions']) {
      expect(await command(socket, 'subscribe.private', { channel })).toEqual({
        ok: true,
        channel,
        position: { offset: expect.any(Number), epoch: expect.any(String) },
      });
    }
    const anonymous = await connect();
    expect(
      await command(anonymous.socket, 'subscribe.private', { channel: 'user.portfolio' }),
    ).toEqual(expect.objectContaining({ ok: false }));

    const portfolios = await recorder.waitFor('portfolio.update', 2, 30_000);
    for (const { channel, data } of portfolios) {
      expect(channel).toBe('user.portfolio');
      expect(data.userId).toBe('carol');
      const worth = data.positions.reduce(
        (sum: number, p: any) => sum + Number(p.size) * Number(p.markPrice),
        0,
      );
      const pnl = data.positions.reduce((sum: number, p: any) => sum + Number(p.unrealizedPnl), 0);
      expect(Number(data.equity)).toBeCloseTo(Number(data.cash) + worth, 1);
      expect(Number(data.unrealizedPnl)).toBeCloseTo(pnl, 1);
      for (const p of data.positions) {
        expect(DEMO_SYMBOLS).toContain(p.symbol);
        expect(Number(p.size)).not.toBe(0);
      }
    }
    // Each fill publishes the filled symbol's position, then the portfolio that includes it.
    const events = recorder.events.filter((e) =>
      ['position.update', 'portfolio.update'].includes(e.name),
    );
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.name !== 'portfolio.update' || events[i - 1]!.name !== 'position.update')
        continue;
      const moved = events[i - 1]!.payload.data;
      const listed = events[i]!.payload.data.positions.find((p: any) => p.symbol === moved.symbol);
      if (Number(moved.size) === 0) expect(listed).toBeUndefined();
      else
        expect(listed).toEqual({
          symbol: moved.symbol,
          size: moved.size,
          entryPrice: moved.entryPrice,
          markPrice: moved.markPrice,
          unrealizedPnl: moved.unrealizedPnl,
        });
    }
    await command(anonymous.socket, 'ping');
    expect(anonymous.recorder.payloads('portfolio.update')).toEqual([]);
    expect(demo.output()).not.toContain('Refused');
  }, 40_000);

  it('shows the funding rate by the order book and the signed-in user’s portfolio in a real browser', async () => {
    mkdirSync(OUTPUT, { recursive: true });
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning')
          problems.push(`${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      await page.goto(url + '/');
      // Replayed on subscribe: the rate is there as soon as the book is.
      await page.waitForFunction(
        () => /^-?\d+\.\d{4}%$/.test(document.querySelector('#funding-rate')?.textContent ?? ''),
        undefined,
        { timeout: 10_000 },
      );
      expect(await page.textContent('#funding small')).toMatch(/^next at \d\d:00 UTC$/);
      await page.selectOption('#user', 'alice');
      await page.click('#signin');
      await page.waitForFunction(
        () => document.querySelector('#status')?.textContent === 'connected as alice',
        undefined,
        { timeout: 10_000 },
      );
      await page.waitForFunction(
        () => /^-?\d+\.\d\d$/.test(document.querySelector('#equity')?.textContent ?? ''),
        undefined,
        { timeout: 30_000 },
      );
      await page.waitForSelector('#portfolio tr.position', { timeout: 30_000 });
      await page.screenshot({ path: `${OUTPUT}/demo-custom-events.png`, fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
    }
  }, 90_000);
});
