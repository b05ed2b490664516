import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
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
});
