import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { io } from 'socket.io-client';
import { AppWebSocketGateway } from '#realtime/internal';
import { GatewayHarness, roundTrip, until } from './support/gateway-harness.js';

/** Engine.IO's listener that keeps each upgrade's HTTP request (see upgrade-request.ts). */
const RESPONSE_CLOSE = 'socket.once("close", () => this.emit("close"));';

type Listener = ((...args: unknown[]) => void) & { listener?: (...args: unknown[]) => void };

describe("the upgrade's HTTP request", () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start();
  });

  afterAll(async () => {
    await gateway.stop();
  });

  /** The sources of the `close` listeners on each server-side connection's TCP socket. */
  const closeListeners = (): string[][] =>
    [...gateway.app.get(AppWebSocketGateway).server.sockets.values()].map((socket) => {
      const stream = (socket.conn as unknown as { transport: { socket: { _socket: any } } })
        .transport.socket._socket;
      return (stream.rawListeners('close') as Listener[]).map((wrapper) =>
        String(wrapper.listener ?? wrapper),
      );
    });

  /** A client's (masked) WebSocket text frame, shorter than 126 bytes. */
  const textFrame = (text: string): Buffer => {
    const payload = Buffer.from(text);
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
    return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
  };

  it("answers a WebSocket upgrade and sends Engine.IO's open packet in one write, a join and its connected event in one more", async () => {
    const { hostname, port } = new URL(gateway.url);
    // Counts the write requests the server's side of this connection hands the kernel.
    let writes = 0;
    const server = gateway.app.getHttpServer() as import('node:http').Server;
    const countWrites = (stream: Socket): void => {
      const internal = stream as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
      const write = internal._writeGeneric;
      internal._writeGeneric = function (this: unknown, ...args: unknown[]) {
        writes++;
        return write.apply(this, args);
      };
    };
    server.once('connection', countWrites);
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    try {
      socket.write(
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n' +
          `Host: ${hostname}:${port}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await until(() => received.includes('0{"sid":"'), 3000, 'the open packet');
      // The response's head, then a text frame `0{"sid":...`.
      expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(received.charCodeAt(received.indexOf('\r\n\r\n') + 4)).toBe(0x81);
      expect(writes).toBe(1);

      socket.write(textFrame('40/ws,'));
      await until(() => received.includes('42/ws,["connected"'), 3000, 'the connected event');
      expect(received).toContain('40/ws,{"sid":"');
      expect(writes).toBe(2);
    } finally {
      socket.destroy();
    }
  });

  it("is not kept by Engine.IO's response listener once a connection is served", async () => {
    // The listener is still in this Engine.IO: the release below is not a no-op.
    const engineServer = new URL('../node_modules/engine.io/build/server.js', import.meta.url);
    expect(readFileSync(engineServer, 'utf8')).toContain(RESPONSE_CLOSE);

    const direct = await gateway.connect();
    const upgraded = io(`${gateway.url}/ws`, {
      transports: ['polling', 'websocket'],
      reconnection: false,
      forceNew: true,
    });
    try {
      await new Promise<void>((resolve) => upgraded.once('connected', () => resolve()));
      await until(() => upgraded.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
      await roundTrip(upgraded);
      await roundTrip(direct);
      const listeners = closeListeners();
      expect(listeners).toHaveLength(2);
      for (const sources of listeners) {
        expect(sources.length).toBeGreaterThan(0);
        expect(sources.filter((source) => source.includes('this.emit("close")'))).toEqual([]);
      }
    } finally {
      upgraded.disconnect();
    }
  });

  it("drops Engine.IO's upgrade error listener once its transport listens, and a WebSocket error still ends only that connection", async () => {
    const engineServer = new URL('../node_modules/engine.io/build/server.js', import.meta.url);
    expect(readFileSync(engineServer, 'utf8')).toContain('function onUpgradeError()');

    const client = await gateway.connect();
    const socket = gateway.app.get(AppWebSocketGateway).server.sockets.get(client.id!);
    const websocket = (socket!.conn as unknown as { transport: { socket: any } }).transport
      .socket as import('node:events').EventEmitter;
    const names = websocket.rawListeners('error').map((listener) => (listener as Listener).name);
    expect(names).not.toContain('onUpgradeError');
    expect(names.length).toBeGreaterThan(0);

    const gone = new Promise<string>((resolve) => client.once('disconnect', resolve));
    websocket.emit('error', new Error('a broken socket'));
    expect(await gone).toBe('transport close');
    const other = await gateway.connect();
    await roundTrip(other);
    other.disconnect();
  });
});
