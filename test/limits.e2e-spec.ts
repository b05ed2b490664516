import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Socket } from 'socket.io-client';
import {
  AppWebSocketGateway,
  ConnectionGuard,
  RealtimeEvent,
  unsentBytes,
  RealtimeMetrics,
  type RealtimeLimitsOptions,
} from '#realtime/internal';
import { GatewayHarness, Recorder, command, sleep } from './support/gateway-harness.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

/** A bystander on a steady feed; at the end it must have every trade, in order, gap-free. */
class SteadyFeed {
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  bystander!: Recorder;

  constructor(
    private readonly gateway: GatewayHarness,
    private readonly symbol: string,
  ) {}

  async start(): Promise<void> {
    const socket = await this.gateway.connect();
    this.bystander = new Recorder(socket, ['trade']);
    await command(socket, 'subscribe', { channel: 'trades', symbol: this.symbol });
    this.timer = setInterval(() => {
      this.gateway.emitter.emit(RealtimeEvent.Trade, { symbol: this.symbol, tradeId: this.next++ });
    }, 5);
  }

  async stopAndCheck(): Promise<void> {
    clearInterval(this.timer);
    const sent = this.next;
    await this.bystander.waitFor('trade', sent);
    const trades = this.bystander.payloads('trade');
    expect(trades.map((t) => t.data.tradeId)).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(trades.map((t) => t.offset)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  }
}

async function refusal(
  gateway: GatewayHarness,
  options: Parameters<GatewayHarness['connect']>[0] = {},
) {
  return gateway.connect(options).then(
    () => undefined,
    (error: { data?: { code: string; message: string } }) => error.data,
  );
}

function closedWith(socket: Socket): Promise<{ serverSaid: unknown; reason: string }> {
  let serverSaid: unknown;
  socket.on('server.disconnect', (payload) => (serverSaid = payload));
  return new Promise((resolve) =>
    socket.once('disconnect', (reason) => resolve({ serverSaid, reason })),
  );
}

async function withGateway(
  limits: RealtimeLimitsOptions,
  run: (gateway: GatewayHarness, feed: SteadyFeed) => Promise<void>,
) {
  const gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET }, limits });
  const feed = new SteadyFeed(gateway, 'FEEDUSDT');
  try {
    await feed.start();
    await run(gateway, feed);
    await feed.stopAndCheck();
  } finally {
    await gateway.stop();
  }
}

describe('limits against hostile clients (each with a bystander on a steady feed)', () => {
  it('answers messages over the rate with RATE_LIMITED, and closes a connection that keeps going', async () => {
    await withGateway(
      { messageRate: 5, messageBurst: 5, messageRefusalsBeforeDisconnect: 20 },
      async (gateway) => {
        const socket = await gateway.connect();
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => command(socket, 'ping')),
        );
        expect(answers.filter((a) => a.ok)).toHaveLength(5);
        expect(answers.filter((a) => !a.ok).map((a) => a.error.code)).toEqual(
          Array(5).fill('RATE_LIMITED'),
        );
        const recorder = new Recorder(socket, ['error']);
        const closed = closedWith(socket);
        for (let i = 0; i < 40; i++) socket.emit('ping');
        const { serverSaid, reason } = await closed;
        expect(serverSaid).toEqual({ code: 'RATE_LIMITED', reason: 'rate_limited' });
        expect(reason).toBe('io server disconnect');
        expect(recorder.payloads('error').every((e) => e.error.code === 'RATE_LIMITED')).toBe(true);
      },
    );
  });

  it('answers a subscription past the limit with SUBSCRIPTION_LIMIT', async () => {
    await withGateway({ maxSubscriptionsPerConnection: 3 }, async (gateway) => {
      const socket = await gateway.connect({ auth: { token: hsToken('sam') } });
      for (const symbol of ['A1', 'A2'])
        expect((await command(socket, 'subscribe', { channel: 'ticker', symbol })).ok).toBe(true);
      expect((await command(socket, 'subscribe.private', { channel: 'user.orders' })).ok).toBe(
        true,
      );
      const over = await command(socket, 'subscribe', { channel: 'ticker', symbol: 'A4' });
      expect(over.error.code).toBe('SUBSCRIPTION_LIMIT');
      expect(
        (await command(socket, 'subscribe.private', { channel: 'user.trades' })).error.code,
      ).toBe('SUBSCRIPTION_LIMIT');
      // Subscribing again to what it has is not a new subscription; freeing one makes room.
      expect((await command(socket, 'subscribe', { channel: 'ticker', symbol: 'A1' })).ok).toBe(
        true,
      );
      await command(socket, 'unsubscribe', { channel: 'ticker', symbol: 'A2' });
      expect((await command(socket, 'subscribe', { channel: 'ticker', symbol: 'A4' })).ok).toBe(
        true,
      );
    });
  });

  it('refuses connections past the per-user, per-address and per-instance limits with CONNECTION_LIMIT', async () => {
    await withGateway({ maxConnectionsPerUser: 2 }, async (gateway) => {
      await gateway.connect({ auth: { token: hsToken('uma') } });
      await gateway.connect({ auth: { token: hsToken('uma') } });
      expect(await refusal(gateway, { auth: { token: hsToken('uma') } })).toEqual({
        code: 'CONNECTION_LIMIT',
        message: 'your user holds its maximum of 2 connections',
      });
      expect(await refusal(gateway, { auth: { token: hsToken('other') } })).toBeUndefined();
    });
    // The bystander holds one of the address's connections.
    await withGateway({ maxConnectionsPerIp: 3 }, async (gateway) => {
      await gateway.connect();
      await gateway.connect();
      expect((await refusal(gateway))?.message).toBe(
        'your address holds its maximum of 3 connections',
      );
    });
    await withGateway({ maxConnections: 2, maxConnectionsPerIp: 0 }, async (gateway) => {
      await gateway.connect();
      expect((await refusal(gateway))?.message).toBe(
        'this instance holds its maximum of 2 connections',
      );
    });
  });

  it('counts addresses from X-Forwarded-For only behind a trusted proxy', async () => {
    await withGateway({ maxConnectionsPerIp: 2, trustProxy: true }, async (gateway) => {
      const from = (address: string) => ({
        extraHeaders: { 'x-forwarded-for': `${address}, 10.0.0.1` },
      });
      await gateway.connect(from('203.0.113.7'));
      await gateway.connect(from('203.0.113.7'));
      expect((await refusal(gateway, from('203.0.113.7')))?.code).toBe('CONNECTION_LIMIT');
      expect(await refusal(gateway, from('198.51.100.9'))).toBeUndefined();
    });
  });

  it('refuses new connections from an address past the rate', async () => {
    await withGateway(
      { newConnectionsPerIpPerMinute: 4, maxConnectionsPerIp: 0 },
      async (gateway) => {
        for (let i = 0; i < 3; i++) await gateway.connect();
        expect((await refusal(gateway))?.message).toBe(
          'too many new connections from your address; retry in a minute',
        );
      },
    );
  });

  it('closes a connection that sends a frame over the size limit', async () => {
    await withGateway({ maxMessageBytes: 4096 }, async (gateway) => {
      const socket = await gateway.connect();
      expect((await command(socket, 'ping', 'x'.repeat(3000))).ok).toBe(true);
      const closed = new Promise((resolve) => socket.once('disconnect', resolve));
      socket.emit('ping', 'x'.repeat(5000));
      expect(await closed).toBe('transport close');
    });
  });

  it('closes connections that subscribe to nothing within the deadline', async () => {
    await withGateway({ subscribeDeadlineMs: 400 }, async (gateway) => {
      const idle = await gateway.connect();
      const busy = await gateway.connect();
      await command(busy, 'subscribe', { channel: 'trades', symbol: 'BUSYUSDT' });
      const { serverSaid } = await closedWith(idle);
      expect(serverSaid).toEqual({ code: 'CONNECTION_LIMIT', reason: 'subscribe_deadline' });
      await sleep(300);
      expect(busy.connected).toBe(true);
    });
  });
});

describe('slow consumers', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({
      limits: {
        slowConsumerMaxBytes: 256 * 1024,
        slowConsumerGraceMs: 2000,
        maxMessageBytes: 64 * 1024,
      },
    });
  });
  afterAll(async () => {
    await gateway.stop();
  });
  afterEach(async () => {
    await gateway.disconnectAll();
  });

  /** A real client whose TCP socket stops being read: the server's writes back up. */
  async function stalledClient(symbol: string) {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade', 'ticker.update']);
    await command(socket, 'subscribe', { channel: 'trades', symbol });
    await command(socket, 'subscribe', { channel: 'ticker', symbol });
    const tcp = (
      socket.io.engine.transport as unknown as {
        ws: { _socket: { pause(): void; resume(): void } };
      }
    ).ws._socket;
    tcp.pause();
    return { socket, recorder, tcp };
  }

  const padding = 'p'.repeat(16 * 1024);
  const slowCount = async () =>
    (
      await gateway.app
        .get(RealtimeMetrics)
        .registry.getSingleMetric('realtime_slow_consumers_total')!
        .get()
    ).values[0]?.value ?? 0;

  it('skips conflatable market data for a client behind on its writes (offset shows the gap), never trades', async () => {
    const symbol = 'SLOWUSDT';
    const { recorder, tcp } = await stalledClient(symbol);
    const bystander = await gateway.connect();
    const watched = new Recorder(bystander, ['trade', 'ticker.update']);
    await command(bystander, 'subscribe', { channel: 'trades', symbol });
    await command(bystander, 'subscribe', { channel: 'ticker', symbol });
    const before = await slowCount();
    let tradeId = 0;
    while ((await slowCount()) === before) {
      for (let i = 0; i < 50; i++)
        gateway.emitter.emit(RealtimeEvent.Trade, { symbol, tradeId: tradeId++, padding });
      await sleep(20);
      if (tradeId > 20_000) throw new Error('never marked slow');
    }
    for (let i = 0; i < 5; i++)
      gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol, lastPrice: `${i + 1}` });
    tcp.resume();
    await recorder.waitFor('trade', tradeId, 20_000);
    await sleep(1500);
    gateway.emitter.emit(RealtimeEvent.TickerUpdate, { symbol, lastPrice: '6' });
    const [, last] = await recorder
      .waitFor('ticker.update', 1, 5000)
      .then(() => [null, recorder.payloads('ticker.update').at(-1)]);
    expect(recorder.payloads('trade').map((t) => t.data.tradeId)).toEqual(
      Array.from({ length: tradeId }, (_, i) => i),
    );
    expect(recorder.payloads('ticker.update').map((t) => t.data.lastPrice)).not.toContain('3');
    expect(last.offset).toBe(6);
    expect(last.data.lastPrice).toBe('6');
    await watched.waitFor('ticker.update', 6);
    expect(watched.payloads('ticker.update').map((t) => t.offset)).toEqual([1, 2, 3, 4, 5, 6]);
  }, 60_000);

  it('closes a client that stays behind past the grace period, with memory bounded and others unaffected', async () => {
    const symbol = 'STUCKUSDT';
    const { socket } = await stalledClient(symbol);
    const bystander = await gateway.connect();
    // Keep only ids: the payloads would weigh on this process's memory, not the server's.
    const received: number[] = [];
    bystander.on('trade', (envelope: { data: { tradeId: number } }) =>
      received.push(envelope.data.tradeId),
    );
    await command(bystander, 'subscribe', { channel: 'trades', symbol });
    const namespace = gateway.app.get(AppWebSocketGateway).server;
    const stuckId = socket.id!;
    // About 2 MB/s its way: megabytes fill the kernel's buffers, then the server's.
    let tradeId = 0;
    let mostHeld = 0;
    const deadline = Date.now() + 30_000;
    while (namespace.sockets.has(stuckId)) {
      mostHeld = Math.max(mostHeld, unsentBytes(namespace.sockets.get(stuckId)!));
      for (let i = 0; i < 8; i++)
        gateway.emitter.emit(RealtimeEvent.Trade, { symbol, tradeId: tradeId++, padding });
      await sleep(60);
      if (Date.now() > deadline) throw new Error('the stuck client was never closed');
    }
    const sentBytes = tradeId * padding.length;
    expect(sentBytes).toBeGreaterThan(4 * 1024 * 1024);
    // What the server held for it stayed within the bound plus the grace period's worth.
    expect(mostHeld).toBeLessThan(256 * 1024 + 2.2 * 2 * 1024 * 1024 * 1.5);
    const closes = await gateway.app
      .get(RealtimeMetrics)
      .registry.getSingleMetricAsString('realtime_disconnects_total');
    expect(closes).toContain('realtime_disconnects_total{reason="slow_consumer"} 1');
    const until = Date.now() + 20_000;
    while (received.length < tradeId && Date.now() < until) await sleep(20);
    expect(received).toEqual(Array.from({ length: tradeId }, (_, i) => i));
  }, 60_000);
});

describe('connection bookkeeping', () => {
  it('stays exact through thousands of connects and disconnects', async () => {
    const gateway = await GatewayHarness.start({
      auth: { secret: TEST_SECRET },
      limits: {
        maxConnectionsPerIp: 1000,
        maxConnectionsPerUser: 1000,
        newConnectionsPerIpPerMinute: 0,
      },
    });
    try {
      const guard = gateway.app.get(ConnectionGuard);
      for (let round = 0; round < 40; round++) {
        const sockets = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            gateway.connect(i % 2 ? { auth: { token: hsToken(`user-${i % 5}`) } } : {}),
          ),
        );
        if (round % 10 === 0) expect(await guard.slotsTaken('ip:127.0.0.1')).toBe(50);
        await gateway.disconnectAll();
        for (const socket of sockets) expect(socket.connected).toBe(false);
      }
      await sleep(200);
      expect(await guard.slotsTaken('ip:127.0.0.1')).toBe(0);
      for (let user = 0; user < 5; user++)
        expect(await guard.slotsTaken(`user:user-${user}`)).toBe(0);
    } finally {
      await gateway.stop();
    }
  }, 120_000);
});
