import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AUTH_TIMEOUT_MS, RealtimeEvent } from '#realtime/internal';
import { GatewayHarness, Recorder, command } from './support/gateway-harness.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

/**
 * The JSON endpoint driven by a client that is not JavaScript: Python's `websockets`
 * (test/support/python/json_client.py), run by Debian's python3 (.ci/run installs
 * python3-websockets).
 */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./support/python/json_client.py', import.meta.url));
const WAIT_MS = 15_000;

/** A symbol no earlier run used, so its trades room has no history to replay. */
const RUN = Date.now().toString(36).toUpperCase();
const symbol = (name: string) => `PY${name}${RUN}`;

const trade = (sym: string, i: number) => ({
  symbol: sym,
  tradeId: i,
  price: '100.25',
  quantity: '0.5',
  side: i % 2 ? 'buy' : 'sell',
  timestamp: 1_700_000_000_000 + i,
});

/** One run of json_client.py: every line it printed, parsed, and its exit. */
class PythonClient {
  readonly lines: any[] = [];
  private readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';
  private exit: { code: number | null; signal: string | null } | undefined;
  private readonly waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      let newline: number;
      while ((newline = this.stdout.indexOf('\n')) >= 0) {
        const line = this.stdout.slice(0, newline);
        this.stdout = this.stdout.slice(newline + 1);
        if (line.trim()) this.lines.push(JSON.parse(line));
      }
      this.wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      this.wake();
    });
  }

  /** The frames the client received, in order. */
  get frames(): any[] {
    return this.lines.filter((line) => 'recv' in line).map((line) => line.recv);
  }

  step(name: string): any {
    return this.lines.find((line) => line.step === name);
  }

  /** Resolves once the client printed step `name`; fails when it exits first or takes too long. */
  async waitForStep(name: string): Promise<any> {
    await this.until(() => this.step(name) !== undefined || this.exit !== undefined, `"${name}"`);
    if (!this.step(name)) throw new Error(`json_client.py exited before "${name}"${this.report()}`);
    return this.step(name);
  }

  /** Resolves with the exit code once the client exited. */
  async exited(): Promise<number | null> {
    await this.until(() => this.exit !== undefined, 'its exit');
    return this.exit!.code;
  }

  kill(): void {
    if (this.exit === undefined) this.child.kill('SIGKILL');
  }

  private report(): string {
    return `\nprinted:\n${this.lines.map((line) => JSON.stringify(line)).join('\n')}\nstderr:\n${this.stderr}`;
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`json_client.py: timed out waiting for ${what}${this.report()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Every frame is `{ id?, type, timestamp, data }` and nothing else. */
function expectFrameShape(frames: any[]): void {
  expect(frames.length).toBeGreaterThan(0);
  for (const frame of frames) {
    expect(
      Object.keys(frame).every((key) => ['id', 'type', 'timestamp', 'data'].includes(key)),
    ).toBe(true);
    expect(typeof frame.type).toBe('string');
    expect(Number.isSafeInteger(frame.timestamp)).toBe(true);
    expect('data' in frame).toBe(true);
  }
}

const POSITION = { offset: expect.any(Number), epoch: expect.any(String) };
const BAD_FRAME_REFUSAL = {
  type: 'error',
  timestamp: expect.any(Number),
  data: {
    ok: false,
    command: 'unknown',
    error: { code: 'INVALID_PAYLOAD', message: expect.stringMatching(/not JSON/) },
  },
};

describe('plain-WebSocket JSON endpoint, from Python (websockets)', () => {
  let gateway: GatewayHarness;
  let endpoint: string;
  const running: PythonClient[] = [];
  const python = (...args: string[]) => {
    const client = new PythonClient(args);
    running.push(client);
    return client;
  };

  beforeAll(async () => {
    const probe = spawnSync(PYTHON, ['-c', 'import websockets; print(websockets.__version__)'], {
      encoding: 'utf8',
    });
    if (probe.status !== 0) {
      throw new Error(
        `${PYTHON} cannot import websockets (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}): ` +
          'install it with `apt-get install -y python3-websockets` (.ci/run does this)',
      );
    }
    gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET } });
    endpoint = `${gateway.url.replace(/^http/, 'ws')}/ws/json`;
  });
  afterEach(() => {
    for (const client of running.splice(0)) client.kill();
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('signs in at the door with ?token=, subscribes, pings, is refused a bad frame and receives live events', async () => {
    const sym = symbol('DOOR');
    const url = `${endpoint}?token=${encodeURIComponent(hsToken('py-door'))}`;
    const client = python(url, 'door', '--symbol', sym, '--events', '5');
    await client.waitForStep('ready');

    // A Socket.IO client on the same room gets the same envelopes.
    const socket = await gateway.connect();
    await command(socket, 'subscribe', { channel: 'trades', symbol: sym });
    const recorder = new Recorder(socket, [RealtimeEvent.Trade]);
    gateway.emitter.emit(RealtimeEvent.OrderCreated, { userId: 'someone-else', orderId: 1 });
    for (let i = 1; i <= 3; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade(sym, i));
    gateway.emitter.emit(RealtimeEvent.OrderCreated, { userId: 'py-door', orderId: 2 });
    gateway.emitter.emit(RealtimeEvent.SystemAlert, { message: 'from the test', level: 'info' });

    expect(await client.exited()).toBe(0);
    const frames = client.frames;
    expectFrameShape(frames);
    const [greeting, subscribed, privately, pong, refusal, ...live] = frames;
    expect(greeting).toEqual({
      type: 'connected',
      timestamp: expect.any(Number),
      data: { connectionId: expect.any(String), userId: 'py-door', serverTime: expect.any(Number) },
    });
    expect(subscribed).toEqual({
      id: 1,
      type: 'subscribed',
      timestamp: expect.any(Number),
      data: { ok: true, channel: 'trades', symbol: sym, position: POSITION },
    });
    expect(privately).toEqual({
      id: 2,
      type: 'subscribed',
      timestamp: expect.any(Number),
      data: { ok: true, channel: 'user.orders', position: POSITION },
    });
    expect(pong).toEqual({
      id: 3,
      type: 'pong',
      timestamp: expect.any(Number),
      data: { ok: true, timestamp: expect.any(Number) },
    });
    expect(refusal).toEqual(BAD_FRAME_REFUSAL);
    expect(client.step('bad frame')).toEqual({ step: 'bad frame', code: 'INVALID_PAYLOAD' });

    // Events come without an id; within the trades room in order, each offset one more.
    expect(live.every((frame) => !('id' in frame))).toBe(true);
    const trades = live.filter((frame) => frame.type === RealtimeEvent.Trade);
    const { offset, epoch } = subscribed.data.position;
    expect(trades.map((frame) => frame.data)).toEqual(
      [1, 2, 3].map((i) => ({
        channel: 'trades',
        event: 'trade',
        symbol: sym,
        offset: offset + i,
        epoch,
        ts: expect.any(Number),
        data: trade(sym, i),
      })),
    );
    expect(trades.map((frame) => frame.data)).toEqual(
      await recorder.waitFor(RealtimeEvent.Trade, 3),
    );
    // Only this user's order, on the channel it subscribed.
    expect(live.filter((frame) => frame.type === RealtimeEvent.OrderCreated)).toEqual([
      {
        type: 'order.created',
        timestamp: expect.any(Number),
        data: {
          channel: 'user.orders',
          event: 'order.created',
          offset: privately.data.position.offset + 1,
          epoch: privately.data.position.epoch,
          ts: expect.any(Number),
          data: { userId: 'py-door', orderId: 2 },
        },
      },
    ]);
    expect(live.filter((frame) => frame.type === RealtimeEvent.SystemAlert)).toEqual([
      {
        type: 'system.alert',
        timestamp: expect.any(Number),
        data: {
          channel: 'system',
          event: 'system.alert',
          offset: expect.any(Number),
          epoch: expect.any(String),
          ts: expect.any(Number),
          data: { message: 'from the test', level: 'info' },
        },
      },
    ]);
    expect(live).toHaveLength(5);
    expect(client.step('done')).toEqual({ step: 'done' });
  });

  it('authenticates after auth_required and gets its private events', async () => {
    const sym = symbol('AUTH');
    const client = python(
      endpoint,
      'authenticate',
      '--token',
      hsToken('py-auth'),
      '--symbol',
      sym,
      '--events',
      '2',
    );
    await client.waitForStep('ready');
    gateway.emitter.emit(RealtimeEvent.Trade, trade(sym, 1));
    gateway.emitter.emit(RealtimeEvent.OrderCreated, { userId: 'py-auth', orderId: 9 });

    expect(await client.exited()).toBe(0);
    const frames = client.frames;
    expectFrameShape(frames);
    const [offer, greeting, subscribed, privately, pong, refusal, ...live] = frames;
    expect(offer).toEqual({
      type: 'auth_required',
      timestamp: expect.any(Number),
      data: { timeoutMs: AUTH_TIMEOUT_MS },
    });
    expect(greeting).toEqual({
      id: 1,
      type: 'connected',
      timestamp: expect.any(Number),
      data: { connectionId: expect.any(String), userId: 'py-auth', serverTime: expect.any(Number) },
    });
    expect(subscribed).toMatchObject({
      id: 2,
      type: 'subscribed',
      data: { ok: true, symbol: sym },
    });
    expect(privately).toMatchObject({
      id: 3,
      type: 'subscribed',
      data: { ok: true, channel: 'user.orders', position: POSITION },
    });
    expect(pong).toMatchObject({ id: 4, type: 'pong', data: { ok: true } });
    expect(refusal).toEqual(BAD_FRAME_REFUSAL);
    const byType = Object.fromEntries(live.map((frame) => [frame.type, frame.data]));
    expect(byType).toEqual({
      trade: expect.objectContaining({
        channel: 'trades',
        offset: subscribed.data.position.offset + 1,
        epoch: subscribed.data.position.epoch,
        data: trade(sym, 1),
      }),
      'order.created': expect.objectContaining({
        channel: 'user.orders',
        offset: privately.data.position.offset + 1,
        data: { userId: 'py-auth', orderId: 9 },
      }),
    });
  });

  it('joins anonymously on the first command, and is refused private channels with AUTH_REQUIRED', async () => {
    const sym = symbol('ANON');
    const client = python(endpoint, 'anonymous', '--symbol', sym, '--events', '1');
    await client.waitForStep('ready');
    gateway.emitter.emit(RealtimeEvent.OrderCreated, { userId: 'py-door', orderId: 3 });
    gateway.emitter.emit(RealtimeEvent.Trade, trade(sym, 1));

    expect(await client.exited()).toBe(0);
    const frames = client.frames;
    expectFrameShape(frames);
    expect(frames.map((frame) => [frame.type, frame.id])).toEqual([
      ['auth_required', undefined],
      ['connected', undefined], // the greeting comes before the answer to the command that joined
      ['subscribed', 1],
      ['error', 2],
      ['pong', 3],
      ['error', undefined],
      ['trade', undefined],
    ]);
    expect(frames[1].data.userId).toBeNull();
    expect(frames[3].data).toEqual({
      ok: false,
      command: 'subscribe.private',
      channel: 'user.orders',
      error: { code: 'AUTH_REQUIRED', message: expect.any(String) },
    });
    expect(frames[6].data).toMatchObject({ channel: 'trades', symbol: sym, data: trade(sym, 1) });
  });

  it('is refused a bad token with AUTH_INVALID and a close', async () => {
    const client = python(endpoint, 'authenticate', '--token', 'not-a-jwt');
    expect(await client.exited()).toBe(1);
    expect(client.frames).toEqual([
      expect.objectContaining({ type: 'auth_required' }),
      {
        id: 1,
        type: 'error',
        timestamp: expect.any(Number),
        data: {
          ok: false,
          command: 'authenticate',
          error: { code: 'AUTH_INVALID', message: expect.any(String) },
        },
      },
    ]);
    expect(client.step('failed')).toMatchObject({ error: 'ScenarioError' });
  });
});
