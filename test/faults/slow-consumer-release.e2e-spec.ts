import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { Socket as NetSocket } from 'node:net';
import type { Server } from 'socket.io';
import { WebSocket, type RawData } from 'ws';
import {
  AppWebSocketGateway,
  ConnectionDrain,
  RealtimeEvent,
  RealtimeMetrics,
  type RealtimeLimitsOptions,
} from '#realtime/internal';
import { GatewayHarness, sleep, until } from '../support/gateway-harness.js';

/*
 * A connection the server closes for cause used to keep its TCP socket: the disconnect
 * waited behind what the client had not read, then for Engine.IO's ping timeout and `ws`'s
 * 30 s close timer, about 66 s with megabytes still queued in the kernel. Each client here
 * stops reading its socket, like a stalled tab or a stuck bot; each must lose its TCP
 * connection, seen from both ends, within 2 s of the server's decision to close it.
 */
const RELEASE_DEADLINE_MS = 2000;

/** A raw Engine.IO v4 client over `ws` whose TCP socket can stop being read. */
class StallingClient {
  readonly texts: string[] = [];
  private readonly ws: WebSocket;
  private tcpClosedAt: number | undefined;

  private constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      const text = String(data);
      this.texts.push(text);
      if (text === '2') this.send('3');
    });
  }

  /** Connected to the namespace and greeted. */
  static async joined(url: string): Promise<StallingClient> {
    const client = new StallingClient(url);
    await new Promise((resolve, reject) => {
      client.ws.once('open', resolve);
      client.ws.once('close', reject);
    });
    client.tcp.once('close', () => (client.tcpClosedAt = Date.now()));
    client.send('40/ws,');
    await client.waitFor((text) => text.startsWith('42/ws,["connected"'));
    return client;
  }

  get tcp(): NetSocket {
    return (this.ws as unknown as { _socket: NetSocket })._socket;
  }

  /** The Socket.IO id the server greeted this connection with. */
  get id(): string {
    const greeting = this.texts.find((text) => text.startsWith('42/ws,["connected"'))!;
    return JSON.parse(greeting.slice('42/ws,'.length))[1].connectionId;
  }

  send(frame: string): void {
    this.ws.send(frame, () => undefined);
  }

  async subscribe(symbol: string): Promise<void> {
    this.send(`42/ws,1["subscribe",{"channel":"trades","symbol":"${symbol}"}]`);
    await this.waitFor((text) => text.startsWith('43/ws,1[{"ok":true'));
  }

  /** From now on nothing is read from the socket: the kernel's buffers fill, then the server's. */
  stopReading(): void {
    this.tcp.pause();
  }

  /**
   * Whether the server has closed the TCP connection by `deadline`. A client that does not
   * read sees no FIN, so it writes: once the server's end is gone a write fails.
   */
  async closedBy(deadline: number): Promise<boolean> {
    while (this.tcpClosedAt === undefined && Date.now() < deadline) {
      if (!this.tcp.destroyed) this.tcp.write(PONG_FRAME, () => undefined);
      await sleep(25);
    }
    return this.tcpClosedAt !== undefined && this.tcpClosedAt <= deadline;
  }

  /** Called with the WebSocket close code once the connection closed. */
  onClose(listener: (code: number) => void): void {
    this.ws.once('close', listener);
  }

  destroy(): void {
    this.ws.terminate();
  }

  private async waitFor(predicate: (text: string) => boolean): Promise<void> {
    await until(() => this.texts.some(predicate), 5000, 'a frame from the server');
  }
}

/** A masked client frame holding the Engine.IO pong `3`, written under `ws`. */
const PONG_FRAME = Buffer.from([0x81, 0x81, 0x01, 0x02, 0x03, 0x04, '3'.charCodeAt(0) ^ 0x01]);

/**
 * The server's end of a loopback TCP connection as the kernel holds it: its unsent bytes
 * (Send-Q), or undefined once the kernel let go of it.
 */
function serverSendQueue(serverPort: number, clientPort: number): number | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 5) continue;
      if (fields[1]!.endsWith(':' + hex(serverPort)) && fields[2]!.endsWith(':' + hex(clientPort)))
        return parseInt(fields[4]!.split(':')[0]!, 16);
    }
  }
  return undefined;
}

interface ServerSide {
  id: string;
  readyState: string;
  transport: { socket: { _socket: NetSocket } };
}

/** What the gateway holds for one client, from the server's side. */
function serverSide(gateway: GatewayHarness, client: StallingClient) {
  const namespace = gateway.app.get(AppWebSocketGateway).server;
  const conn = namespace.sockets.get(client.id)!.conn as unknown as ServerSide;
  // Engine.IO's open connections by id.
  const engine = (namespace.server as Server).engine as unknown as {
    clients: Record<string, unknown>;
  };
  const port = Number(new URL(gateway.url).port);
  const clientPort = client.tcp.localPort!;
  return {
    namespace,
    conn,
    engine,
    sendQueue: () => serverSendQueue(port, clientPort),
  };
}

/**
 * Waits until the server closes the client (its Socket.IO socket is gone), then checks that
 * everything for it is gone within the deadline: the kernel's end of the TCP connection and
 * its queue, the Engine.IO connection, `ws`'s socket, and the client sees the connection closed.
 */
async function expectReleased(
  gateway: GatewayHarness,
  client: StallingClient,
  meanwhile: () => void = () => undefined,
): Promise<void> {
  const side = serverSide(gateway, client);
  const id = client.id;
  while (side.namespace.sockets.has(id)) {
    meanwhile();
    await sleep(20);
  }
  const closedAt = Date.now();
  const deadline = closedAt + RELEASE_DEADLINE_MS;
  // The server's end first, without a write from the client that would make its kernel reset it.
  while (side.sendQueue() !== undefined && Date.now() < deadline) await sleep(20);
  expect({ kernelHolds: side.sendQueue(), inTime: Date.now() <= deadline }).toEqual({
    kernelHolds: undefined,
    inTime: true,
  });
  expect(side.conn.readyState).toBe('closed');
  expect(side.conn.transport.socket._socket.destroyed).toBe(true);
  expect(side.conn.id in side.engine.clients).toBe(false);
  expect(await client.closedBy(deadline)).toBe(true);
}

describe('a connection closed for cause lets go of its TCP socket and buffers at once', () => {
  let gateway: GatewayHarness;
  const clients: StallingClient[] = [];

  const start = async (limits: RealtimeLimitsOptions) => {
    gateway = await GatewayHarness.start({ limits: { maxConnectionsPerIp: 0, ...limits } });
  };
  const stalled = async (symbol?: string) => {
    const client = await StallingClient.joined(gateway.url);
    clients.push(client);
    if (symbol) await client.subscribe(symbol);
    return client;
  };

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await gateway?.stop();
  });

  it('a slow consumer: closed past its grace with megabytes unread, released within 2 s', async () => {
    await start({ slowConsumerMaxBytes: 1024, slowConsumerGraceMs: 200 });
    const symbol = 'STALLUSDT';
    const client = await stalled(symbol);
    client.stopReading();
    const side = serverSide(gateway, client);
    const padding = 'p'.repeat(64 * 1024);
    let tradeId = 0;
    let mostQueued = 0;
    await expectReleased(gateway, client, () => {
      mostQueued = Math.max(mostQueued, side.sendQueue() ?? 0);
      for (let i = 0; i < 8; i++)
        gateway.emitter.emit(RealtimeEvent.Trade, { symbol, tradeId: tradeId++, padding });
    });
    // The kernel held a full send queue for it before the close: what had to be let go.
    expect(mostQueued).toBeGreaterThan(64 * 1024);
    const metrics = gateway.app.get(RealtimeMetrics).registry;
    expect(await metrics.getSingleMetricAsString('realtime_disconnects_total')).toContain(
      'realtime_disconnects_total{reason="slow_consumer"} 1',
    );
    expect((await metrics.getSingleMetric('realtime_connections')!.get()).values[0]!.value).toBe(0);
  }, 30_000);

  it('a client over the message rate that reads nothing', async () => {
    await start({ messageRate: 5, messageBurst: 5, messageRefusalsBeforeDisconnect: 20 });
    const client = await stalled();
    client.stopReading();
    for (let i = 0; i < 60; i++) client.send('42/ws,["ping"]');
    await expectReleased(gateway, client);
  });

  it('a client that sends a frame over the size limit and reads nothing', async () => {
    await start({ maxMessageBytes: 4096 });
    const client = await stalled();
    client.stopReading();
    client.send(`42/ws,["ping","${'x'.repeat(8000)}"]`);
    await expectReleased(gateway, client);
  });

  it('a client that subscribes to nothing within the deadline and reads nothing', async () => {
    await start({ subscribeDeadlineMs: 300 });
    const client = await stalled();
    // One that reads, beside it: it gets the reason and the closing handshake, as before.
    const reader = await stalled();
    const readerClosed = new Promise<number>((resolve) => reader.onClose(resolve));
    client.stopReading();
    await expectReleased(gateway, client);
    expect(await readerClosed).toBe(1005);
    expect(reader.texts.slice(-2)).toEqual([
      '42/ws,["server.disconnect",{"code":"CONNECTION_LIMIT","reason":"subscribe_deadline"}]',
      '41/ws,',
    ]);
  });

  it('a client still connected at the end of a drain that reads nothing', async () => {
    await start({});
    const client = await stalled();
    client.stopReading();
    const drained = gateway.app.get(ConnectionDrain).drain(400);
    await expectReleased(gateway, client);
    await drained;
  });
});
