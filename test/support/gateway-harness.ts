import { expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { AddressInfo } from 'node:net';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { RealtimeModuleOptions } from '#realtime';
import type { GatewayConfig } from '../../apps/gateway/src/config/gateway-config.js';
import { createGatewayApp } from '../../apps/gateway/src/gateway-app.js';

/** The standalone gateway, started in this process on a free loopback port. */
export class GatewayHarness {
  private readonly clients: Socket[] = [];
  private readonly greetings = new WeakMap<Socket, unknown>();

  private constructor(
    readonly app: INestApplication,
    readonly url: string,
  ) {}

  static async start(
    realtime: RealtimeModuleOptions = {},
    more: Partial<Omit<GatewayConfig, 'port' | 'realtime'>> = {},
    port = 0,
  ): Promise<GatewayHarness> {
    const app = await createGatewayApp(
      {
        port: 0,
        realtime,
        drainTimeoutMs: 1000,
        logLevel: 'error',
        admin: { role: 'admin' },
        metrics: {},
        ...more,
      },
      ['error'],
    );
    await app.listen(port, '127.0.0.1');
    const address = app.getHttpServer().address() as AddressInfo;
    return new GatewayHarness(app, `http://127.0.0.1:${address.port}`);
  }

  get emitter(): EventEmitter2 {
    return this.app.get(EventEmitter2);
  }

  /** A real socket.io-client connection to the namespace, connected and greeted. */
  async connect(
    options: Pick<Partial<ManagerOptions & SocketOptions>, 'auth' | 'query' | 'extraHeaders'> = {},
  ): Promise<Socket> {
    const socket = io(`${this.url}/ws`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...options,
    });
    this.clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connected', (greeting: unknown) => {
        this.greetings.set(socket, greeting);
        resolve();
      });
      socket.once('connect_error', reject);
    });
    return socket;
  }

  /** The `connected` payload the server greeted this socket with. */
  greeting(socket: Socket): any {
    return this.greetings.get(socket);
  }

  /** Closes every client this harness opened. */
  async disconnectAll(): Promise<void> {
    for (const client of this.clients.splice(0)) client.disconnect();
  }

  async stop(): Promise<void> {
    await this.disconnectAll();
    await this.app.close();
  }
}

/** Collects every event of the given names a socket receives, in order. */
export class Recorder {
  readonly events: Array<{ name: string; payload: any }> = [];

  constructor(socket: Socket, names?: readonly string[]) {
    socket.onAny((name: string, payload: unknown) => {
      if (!names || names.includes(name)) this.events.push({ name, payload });
    });
  }

  payloads(name: string): any[] {
    return this.events.filter((event) => event.name === name).map((event) => event.payload);
  }

  /** Resolves once `count` events of `name` arrived; rejects after `timeoutMs`. */
  async waitFor(name: string, count = 1, timeoutMs = 5000): Promise<any[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.payloads(name).length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} "${name}" events, got ${this.payloads(name).length}`);
      }
      await sleep(10);
    }
    return this.payloads(name);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 50 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Sends a command and resolves with its ack body. */
export function command(socket: Socket, event: string, ...args: unknown[]): Promise<any> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

/** A round trip through the server: everything the server emitted before is received. */
export async function roundTrip(socket: Socket): Promise<void> {
  await command(socket, 'ping');
}

/** Any stream position, as a subscribe answer carries one. */
export const ANY_POSITION = { offset: expect.any(Number), epoch: expect.any(String) };
