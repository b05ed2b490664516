import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command } from './support/gateway-harness.js';
import type { RunningProcess } from './support/processes.js';
import { startDemo } from './support/demo.js';

const PUBLIC_EVENTS = [
  'ticker.update',
  'tickers.update',
  'orderbook.snapshot',
  'orderbook.update',
  'trade',
  'kline.update',
];

describe('demo app (npm start)', () => {
  let demo: RunningProcess;
  let url: string;
  let socket: Socket;

  beforeAll(async () => {
    ({ process: demo, url } = await startDemo());
  });
  afterAll(async () => {
    socket?.disconnect();
    // Nest's shutdown hooks close the app, then end the process with the same signal.
    expect(await demo.stop()).toBe('SIGTERM');
  });

  it('serves the market page at /', async () => {
    const response = await fetch(url + '/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/app.js">');
    const script = await fetch(url + '/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect((await script.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(url + '/health/ready')).status).toBe(200);
  });

  it('streams every public event within a few seconds', async () => {
    socket = io(url + '/ws', { transports: ['websocket'], reconnection: false });
    const recorder = new Recorder(socket);
    await new Promise((resolve, reject) => {
      socket.once('connected', resolve);
      socket.once('connect_error', reject);
    });
    for (const subscription of [
      { channel: 'ticker', symbol: 'BTCUSDT' },
      { channel: 'ticker', symbol: 'all' },
      { channel: 'orderbook', symbol: 'BTCUSDT' },
      { channel: 'trades', symbol: 'BTCUSDT' },
      { channel: 'klines', symbol: 'BTCUSDT', interval: '1m' },
    ]) {
      expect((await command(socket, 'subscribe', subscription)).ok).toBe(true);
    }
    // The demo's order book snapshots come every 5 s; everything else several times a second.
    for (const event of PUBLIC_EVENTS) await recorder.waitFor(event, 1, 8000);
    await recorder.waitFor('ticker.update', 8, 8000);
    const tickers = recorder.payloads('tickers.update')[0];
    expect(tickers.data.tickers.map((t: { symbol: string }) => t.symbol)).toEqual([
      'BTCUSDT',
      'ETHUSDT',
      'SOLUSDT',
    ]);
    const tickers1 = recorder.payloads('ticker.update').filter((e) => e.symbol === 'BTCUSDT');
    const offsets = tickers1.map((e) => e.offset);
    expect(offsets).toEqual(offsets.map((_, i) => offsets[0] + i));
    expect(new Set(tickers1.map((e) => e.epoch)).size).toBe(1);
    expect(demo.output()).not.toContain('Refused');
  });

  it('signs demo users in and streams their private events', async () => {
    const response = await fetch(url + '/demo/token?user=alice');
    expect(response.status).toBe(200);
    const { token, userId, expiresAt } = (await response.json()) as any;
    expect(userId).toBe('alice');
    expect(expiresAt).toBeGreaterThan(Date.now() + 60_000);
    const alice = io(url + '/ws', {
      transports: ['websocket'],
      reconnection: false,
      auth: { token },
    });
    try {
      const recorder = new Recorder(alice);
      const [greeting] = await recorder.waitFor('connected');
      expect(greeting.userId).toBe('alice');
      for (const channel of ['user.orders', 'user.trades', 'user.balances', 'user.positions']) {
        expect(await command(alice, 'subscribe.private', { channel })).toEqual({
          ok: true,
          channel,
          position: { offset: expect.any(Number), epoch: expect.any(String) },
        });
      }
      for (const event of ['order.created', 'balance.locked'])
        await recorder.waitFor(event, 1, 8000);
      await recorder.waitFor('order.filled', 1, 15_000);
      await recorder.waitFor('trade.executed', 1, 2000);
      await recorder.waitFor('balance.updated', 1, 2000);
      await recorder.waitFor('position.update', 1, 2000);
      const privatePayloads = recorder.events.filter((e) => e.payload?.data?.userId !== undefined);
      expect(new Set(privatePayloads.map((e) => e.payload.data.userId))).toEqual(
        new Set(['alice']),
      );
    } finally {
      alice.disconnect();
    }
  });

  it('refuses tokens for users the demo does not have', async () => {
    const response = await fetch(url + '/demo/token?user=mallory');
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).message).toBe('user must be one of alice, bob, carol');
  });

  it('refuses symbols the demo does not list', async () => {
    const answer = await command(socket, 'subscribe', { channel: 'trades', symbol: 'DOGEUSDT' });
    expect(answer.error.code).toBe('INVALID_SYMBOL');
  });
});
