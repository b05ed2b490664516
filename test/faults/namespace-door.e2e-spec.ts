import { afterEach, describe, expect, it } from '@jest/globals';
import type { Server } from 'socket.io';
import {
  AppWebSocketGateway,
  CONNECT_TIMEOUT_MS,
  ConnectionGuard,
  RealtimeMetrics,
} from '#realtime/internal';
import { GatewayHarness, until } from '../support/gateway-harness.js';
import { RawEngineIo } from '../support/raw-engine-io.js';

/*
 * The limits and the token are checked by the served namespace's middlewares. Socket.IO
 * always has the main namespace `/` too, which ran none of them: thousands of connections
 * from an address the gateway had refused were accepted there, never counted, and stayed
 * open. Every way in is tried here with raw Engine.IO clients.
 */
const INVALID_NAMESPACE = { message: 'Invalid namespace' };
/** How long a refused connection may take to be closed by the server. */
const CLOSE_DEADLINE_MS = 2000;

/** Engine.IO v4 over long-polling, by hand: one session, its POSTs and GETs. */
class RawPolling {
  private constructor(
    private readonly base: string,
    readonly sid: string,
  ) {}

  static async open(url: string): Promise<RawPolling> {
    const base = `${url}/socket.io/?EIO=4&transport=polling`;
    const body = await (await fetch(base)).text();
    expect(body.startsWith('0{')).toBe(true);
    return new RawPolling(base, JSON.parse(body.slice(1)).sid);
  }

  async post(packet: string): Promise<number> {
    const response = await fetch(`${this.base}&sid=${this.sid}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: packet,
    });
    await response.text();
    return response.status;
  }

  /** One GET: the packets it brought, or the status when the session is refused. */
  async poll(): Promise<string[] | number> {
    const response = await fetch(`${this.base}&sid=${this.sid}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = await response.text();
    return response.status === 200 ? body.split('\x1e') : response.status;
  }

  /** Polls until the server ends the session: true when it did by `deadline`. */
  async endedBy(deadline: number): Promise<boolean> {
    while (Date.now() < deadline) {
      const answer = await this.poll();
      if (typeof answer === 'number' || answer.includes('1')) return Date.now() <= deadline;
    }
    return false;
  }
}

/** The promise's value, or 'timeout' after `ms`; leaves no timer behind. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The packets a raw connection received after the Engine.IO open packet, as text. */
const packets = (raw: RawEngineIo) => raw.texts().filter((text) => !text.startsWith('0{'));

/** The JSON of the first CONNECT_ERROR for `nsp` a raw connection received. */
function refusal(raw: RawEngineIo, nsp = ''): unknown {
  const prefix = nsp === '' ? '44' : `44${nsp},`;
  const frame = raw.texts().find((text) => text.startsWith(prefix));
  return frame === undefined ? undefined : JSON.parse(frame.slice(prefix.length));
}

describe('the namespace door', () => {
  let gateway: GatewayHarness;
  const raws: RawEngineIo[] = [];

  const start = async (maxConnectionsPerIp: number) => {
    gateway = await GatewayHarness.start({ limits: { maxConnectionsPerIp } });
  };
  const open = async () => {
    const raw = new RawEngineIo(gateway.url);
    raws.push(raw);
    expect(await raw.opened).not.toBeNull();
    return raw;
  };
  const joined = async () => {
    const raw = await open();
    raw.send('40/ws,');
    expect(await raw.waitFor((text) => text.startsWith('40/ws,'), 5000)).toBe('matched');
    return raw;
  };
  /** Whether the server closed the connection within the deadline. */
  const closedInTime = async (raw: RawEngineIo) =>
    (await within(raw.closed, CLOSE_DEADLINE_MS)) !== 'timeout';
  const counted = async () =>
    (await gateway.app.get(RealtimeMetrics).registry.getSingleMetric('realtime_connections')!.get())
      .values[0]!.value;
  const engine = () => (gateway.app.get(AppWebSocketGateway).server.server as Server).engine;

  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.terminate();
    await gateway?.stop();
  });

  it('refuses `/` and unknown namespaces and closes their connections, which never count (2 per address)', async () => {
    await start(2);
    await joined();
    await joined();
    // The address is full on /ws: refused, and the connection does not stay open either.
    const third = await open();
    third.send('40/ws,');
    expect(await third.waitFor((text) => text.startsWith('44/ws,'), 5000)).toBe('matched');
    expect(refusal(third, '/ws')).toEqual({
      message: 'your address holds its maximum of 2 connections',
      data: {
        code: 'CONNECTION_LIMIT',
        message: 'your address holds its maximum of 2 connections',
      },
    });
    expect(await closedInTime(third)).toBe(true);

    // The main namespace, many times over from the same address, then a namespace that does not exist.
    for (let i = 0; i < 20; i++) {
      const root = await open();
      root.send('40');
      expect(await closedInTime(root)).toBe(true);
      expect(packets(root)).toEqual(['44{"message":"Invalid namespace"}']);
    }
    const nowhere = await open();
    nowhere.send('40/nope,');
    expect(await closedInTime(nowhere)).toBe(true);
    expect(refusal(nowhere, '/nope')).toEqual(INVALID_NAMESPACE);

    expect(await counted()).toBe(2);
    await until(
      () => engine().clientsCount === 2,
      CLOSE_DEADLINE_MS,
      'only the two /ws connections',
    );
  });

  it('closes a joined connection that connects to another namespace too; each /ws socket on one connection counts', async () => {
    await start(10);
    const other = await joined();
    const again = await joined();
    expect(await counted()).toBe(2);
    other.send('40');
    expect(await closedInTime(other)).toBe(true);
    expect(refusal(other)).toEqual(INVALID_NAMESPACE);
    // A second CONNECT to /ws once joined is a protocol error: Socket.IO closes it.
    again.send('40/ws,');
    expect(await closedInTime(again)).toBe(true);
    await until(async () => (await counted()) === 0, CLOSE_DEADLINE_MS, 'no connection counted');

    // Two CONNECTs at once, before the first is answered: two sockets, each counted and
    // holding its slot, and both gone with their connection.
    const twice = await open();
    twice.send('40/ws,');
    twice.send('40/ws,');
    await until(async () => (await counted()) === 2, 5000, 'both sockets counted');
    const namespace = gateway.app.get(AppWebSocketGateway).server;
    expect(namespace.sockets.size).toBe(2);
    twice.terminate();
    await until(async () => (await counted()) === 0, CLOSE_DEADLINE_MS, 'both sockets gone');
    expect(namespace.sockets.size).toBe(0);
  });

  it('closes an Engine.IO connection that joins no namespace within the connect timeout', async () => {
    await start(10);
    expect(CONNECT_TIMEOUT_MS).toBeLessThanOrEqual(10_000);
    const idle = await Promise.all(Array.from({ length: 5 }, open));
    await Promise.all(idle.map((raw) => within(raw.closed, CONNECT_TIMEOUT_MS + 2000)));
    for (const raw of idle) {
      expect(raw.closeInfo).toBeDefined();
      expect(packets(raw)).toEqual([]);
    }
    expect(engine().clientsCount).toBe(0);
  }, 30_000);

  it('refuses the handshake of an address with as many connections not joined yet as it may hold', async () => {
    await start(2);
    const first = await open();
    await open();
    const third = new RawEngineIo(gateway.url);
    raws.push(third);
    expect(await third.opened).toBeNull();
    const guard = gateway.app.get(ConnectionGuard);
    expect(guard.unjoinedFrom('127.0.0.1')).toBe(2);
    // Once one has joined, it counts on the namespace's limits instead: room for one more.
    first.send('40/ws,');
    expect(await first.waitFor((text) => text.startsWith('40/ws,'), 5000)).toBe('matched');
    expect(guard.unjoinedFrom('127.0.0.1')).toBe(1);
    await open();
    expect(
      await gateway.app
        .get(RealtimeMetrics)
        .registry.getSingleMetricAsString('realtime_connections_refused_total'),
    ).toContain('realtime_connections_refused_total{limit="ip_unjoined"} 1');
    for (const raw of raws.splice(0)) raw.terminate();
    await until(() => guard.unjoinedFrom('127.0.0.1') === 0, CLOSE_DEADLINE_MS, 'none left');
  });

  it('holds the same door over long-polling', async () => {
    await start(1);
    await joined();
    const root = await RawPolling.open(gateway.url);
    expect(await root.post('40')).toBe(200);
    expect(await root.poll()).toEqual(['44{"message":"Invalid namespace"}']);
    expect(await root.endedBy(Date.now() + CLOSE_DEADLINE_MS)).toBe(true);

    const full = await RawPolling.open(gateway.url);
    expect(await full.post('40/ws,')).toBe(200);
    const answer = await full.poll();
    expect(Array.isArray(answer) && answer[0]).toMatch(/^44\/ws,.*"CONNECTION_LIMIT"/);
    expect(await full.endedBy(Date.now() + CLOSE_DEADLINE_MS)).toBe(true);

    expect(await counted()).toBe(1);
    await until(() => engine().clientsCount === 1, CLOSE_DEADLINE_MS, 'only the /ws connection');
  });
});
