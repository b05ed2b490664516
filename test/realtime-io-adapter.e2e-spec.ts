import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ack,
  ConnectedSocket,
  MessageBody,
  type OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  WsException,
} from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import { of } from 'rxjs';
import type { Namespace, Socket as ServerSocket } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { RealtimeIoAdapter } from '#realtime';
import { until } from './support/gateway-harness.js';
import { hasFastProperties } from './support/object-shape.js';

@WebSocketGateway({ namespace: '/adapter' })
class EchoGateway implements OnGatewayDisconnect {
  @WebSocketServer() server!: Namespace;
  readonly disconnected: Array<{ id: string; reason: unknown }> = [];

  handleDisconnect(socket: ServerSocket, reason?: unknown) {
    this.disconnected.push({ id: socket.id, reason });
  }

  /** Answers its own ack, later; what it returns must not answer it first. */
  @SubscribeMessage('own.ack')
  ownAck(@MessageBody() body: string, @Ack() ack: (answer: unknown) => void) {
    setTimeout(() => ack({ own: body }), 5);
    return { returned: body };
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() body: unknown) {
    return { echoed: body };
  }

  @SubscribeMessage('later')
  async later(@MessageBody() body: number) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return body * 2;
  }

  @SubscribeMessage('stream')
  stream() {
    return of('first', 'second');
  }

  @SubscribeMessage('named')
  named(@MessageBody() body: string) {
    return { event: 'named.reply', data: body.toUpperCase() };
  }

  @SubscribeMessage('fail')
  fail() {
    throw new WsException('refused on purpose');
  }

  @SubscribeMessage('burst')
  burst(@ConnectedSocket() socket: ServerSocket, @MessageBody() count: number) {
    for (let i = 0; i < count; i++) socket.emit('tick', i);
  }

  /** Room broadcasts, each followed by `ownEvery`-th a message to the socket alone, in one turn. */
  @SubscribeMessage('room.burst')
  roomBurst(
    @ConnectedSocket() socket: ServerSocket,
    @MessageBody() { count, ownEvery }: { count: number; ownEvery: number },
  ) {
    socket.join('burst');
    for (let i = 0; i < count; i++) {
      if (ownEvery > 0 && i % ownEvery === 0) socket.emit('tick', i);
      else this.server.to('burst').emit('tick', i);
    }
  }

  @SubscribeMessage('whoami')
  whoami(@ConnectedSocket() socket: ServerSocket) {
    return { id: socket.id, origin: socket.handshake.headers.origin ?? null };
  }
}

@Module({ providers: [EchoGateway] })
class EchoModule {}

describe('RealtimeIoAdapter (real Socket.IO connections through Nest)', () => {
  let app: INestApplication;
  let url: string;
  const clients: Socket[] = [];

  beforeAll(async () => {
    app = await NestFactory.create(EchoModule, { logger: false });
    app.useWebSocketAdapter(new RealtimeIoAdapter(app));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/adapter`;
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  afterAll(() => app.close());

  /** Counts the writes to the TCP socket of a client's connection on the server. */
  function countWrites(client: Socket): () => number {
    const serverSocket = app.get(EchoGateway).server.sockets.get(client.id!)!;
    const tcp = (serverSocket.conn as any).transport.socket._socket;
    let writes = 0;
    for (const method of ['_write', '_writev'] as const) {
      const original = tcp[method].bind(tcp);
      tcp[method] = (...args: unknown[]) => {
        writes++;
        return original(...args);
      };
    }
    return () => writes;
  }

  async function connect(transports: string[] = ['websocket']): Promise<Socket> {
    const socket = io(url, {
      transports,
      reconnection: false,
      forceNew: true,
      extraHeaders: { origin: 'https://app.example' },
    });
    clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  }

  it('answers a returned value through the acknowledgement', async () => {
    const socket = await connect();
    await expect(socket.emitWithAck('echo', { a: 1 })).resolves.toEqual({ echoed: { a: 1 } });
    await expect(socket.emitWithAck('later', 21)).resolves.toBe(42);
  });

  it('emits a returned { event, data } as that event', async () => {
    const socket = await connect();
    const reply = new Promise((resolve) => socket.once('named.reply', resolve));
    socket.emit('named', 'btc');
    await expect(reply).resolves.toBe('BTC');
  });

  it('answers the first value of a returned Observable', async () => {
    const socket = await connect();
    await expect(socket.emitWithAck('stream')).resolves.toBe('first');
  });

  it("routes a handler's exception through Nest's filters and keeps the connection usable", async () => {
    const socket = await connect();
    const exception = new Promise((resolve) => socket.once('exception', resolve));
    socket.emit('fail');
    await expect(exception).resolves.toMatchObject({ message: 'refused on purpose' });
    await expect(socket.emitWithAck('echo', 'still here')).resolves.toEqual({
      echoed: 'still here',
    });
  });

  it('dispatches each event to the handler bound to its own connection', async () => {
    const [first, second] = await Promise.all([connect(), connect()]);
    const [a, b] = await Promise.all([first.emitWithAck('whoami'), second.emitWithAck('whoami')]);
    expect(a).toEqual({ id: first.id, origin: 'https://app.example' });
    expect(b).toEqual({ id: second.id, origin: 'https://app.example' });
  });

  it('writes the frames queued during a burst in one system call, all of them, in order', async () => {
    const socket = await connect();
    const writes = countWrites(socket);
    const ticks: number[] = [];
    socket.on('tick', (i: number) => ticks.push(i));
    socket.emit('burst', 200);
    await until(() => ticks.length === 200, 3000, 'the burst');
    expect(ticks).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // The first frame goes out at once; the 199 queued behind it follow in one writev.
    expect(writes()).toBeLessThanOrEqual(3);
  });

  it("writes a turn's room broadcasts to a connection in one system call, in order", async () => {
    const socket = await connect();
    const writes = countWrites(socket);
    const ticks: number[] = [];
    socket.on('tick', (i: number) => ticks.push(i));
    socket.emit('room.burst', { count: 200, ownEvery: 0 });
    await until(() => ticks.length === 200, 3000, 'the broadcasts');
    expect(ticks).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(writes()).toBe(1);
  });

  it('keeps the order of room broadcasts and messages to the socket alone mixed in one turn', async () => {
    const socket = await connect();
    const ticks: number[] = [];
    socket.on('tick', (i: number) => ticks.push(i));
    socket.emit('room.burst', { count: 300, ownEvery: 7 });
    await until(() => ticks.length === 300, 3000, 'the mixed burst');
    expect(ticks).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('shares one listener per event across connections and drops the handshake request', async () => {
    await Promise.all([connect(), connect()]);
    const gateway = app.get(EchoGateway);
    const [one, two] = [...gateway.server.sockets.values()];
    expect(one.listeners('echo')).toHaveLength(1);
    expect(one.listeners('echo')[0]).toBe(two.listeners('echo')[0]);
    expect(one.listeners('echo')[0]).not.toBe(one.listeners('fail')[0]);
    expect(one.request).toBeNull();
    // What auth and limits read stays on the handshake.
    expect(one.handshake.headers.origin).toBe('https://app.example');
  });

  /** The listener stores of a server-side connection's emitters, from Socket.IO's to the WebSocket's. */
  function listenerStores(client: Socket): object[] {
    const socket = app.get(EchoGateway).server.sockets.get(client.id!)! as any;
    const websocket = socket.conn.transport.socket;
    return [socket._events, socket.conn._events, socket.conn.transport._events, websocket._events];
  }

  it("keeps a connection's listeners in fast-mode objects once it is set up, and the connection works", async () => {
    const socket = await connect();
    for (const store of listenerStores(socket)) expect(hasFastProperties(store)).toBe(true);
    await expect(socket.emitWithAck('echo', 'compact')).resolves.toEqual({ echoed: 'compact' });
    const exception = new Promise((resolve) => socket.once('exception', resolve));
    socket.emit('fail');
    await expect(exception).resolves.toMatchObject({ message: 'refused on purpose' });
  });

  it('compacts the WebSocket a polling connection upgrades to', async () => {
    const socket = await connect(['polling', 'websocket']);
    await until(() => socket.io.engine.transport.name === 'websocket', 3000, 'the upgrade');
    await until(
      () =>
        app.get(EchoGateway).server.sockets.get(socket.id!)!.conn.transport.name === 'websocket',
      3000,
      'the upgrade on the server',
    );
    for (const store of listenerStores(socket)) expect(hasFastProperties(store)).toBe(true);
    await expect(socket.emitWithAck('echo', 'upgraded')).resolves.toEqual({ echoed: 'upgraded' });
  });

  it("counts each closed connection out of Engine.IO's clients once, however it closed", async () => {
    const engine = app.get(EchoGateway).server.server.engine;
    await until(() => engine.clientsCount === 0, 3000, 'the earlier clients gone');
    const sockets = await Promise.all([
      connect(),
      connect(),
      connect(),
      connect(['polling', 'websocket']),
    ]);
    await until(() => sockets[3]!.io.engine.transport.name === 'websocket', 3000, 'the upgrade');
    expect(engine.clientsCount).toBe(4);
    const server = app.get(EchoGateway).server.sockets;
    sockets[0]!.disconnect();
    server.get(sockets[1]!.id!)!.disconnect(true);
    // An abrupt end: the TCP connection goes without a close frame.
    (server.get(sockets[2]!.id!)!.conn as any).transport.socket._socket.destroy();
    sockets[3]!.disconnect();
    await until(() => engine.clientsCount === 0, 3000, 'every client counted out');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(engine.clientsCount).toBe(0);
    expect(Object.keys((engine as unknown as { clients: object }).clients)).toEqual([]);
  });

  it('leaves the ack to a handler that takes it, whatever the handler returns', async () => {
    const socket = await connect();
    expect(await socket.timeout(2000).emitWithAck('own.ack', 'x')).toEqual({ own: 'x' });
  });

  it("calls the gateway's handleDisconnect once a connection, with Socket.IO's reason", async () => {
    const socket = await connect();
    const id = app.get(EchoGateway).server.sockets.get(socket.id!)!.id;
    socket.disconnect();
    const { disconnected } = app.get(EchoGateway);
    await until(() => disconnected.some((entry) => entry.id === id), 2000, 'handleDisconnect');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(disconnected.filter((entry) => entry.id === id)).toEqual([
      { id, reason: 'client namespace disconnect' },
    ]);
  });
});
