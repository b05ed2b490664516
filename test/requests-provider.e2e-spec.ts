import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import {
  RealtimeIoAdapter,
  RealtimeModule,
  RealtimeOptionsError,
  RequestRefused,
  required,
  requestMethod,
  type RealtimeRequestHandler,
  type RelayedRequest,
} from '#realtime';
import { command } from './support/gateway-harness.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

/** A host's own service the handler uses: proves the handler is resolved with its injections. */
@Injectable()
class OrderBook {
  readonly orders = new Map<string, { userId: string; symbol: string }>();
}

/** The host's in-process backend for the order methods. */
@Injectable()
class OrderDesk implements RealtimeRequestHandler {
  readonly seen: RelayedRequest[] = [];

  constructor(@Inject(OrderBook) private readonly book: OrderBook) {}

  async handle(request: RelayedRequest): Promise<unknown> {
    this.seen.push(request);
    const { method, params, userId } = request;
    if (method === 'order.place') {
      if (params.symbol === 'BOOMUSDT') throw new TypeError('the matching engine fell over');
      const orderId = `o-${this.book.orders.size + 1}`;
      this.book.orders.set(orderId, { userId: userId!, symbol: params.symbol as string });
      return { orderId, status: 'new' };
    }
    const order = this.book.orders.get(params.orderId as string);
    if (!order || order.userId !== userId)
      throw new RequestRefused('UNKNOWN_ORDER', `no open order ${String(params.orderId)}`);
    this.book.orders.delete(params.orderId as string);
    return { orderId: params.orderId, status: 'cancelled' };
  }
}

const methods = [
  requestMethod({
    method: 'order.place',
    params: { symbol: required('symbol') },
    backend: { provider: OrderDesk },
  }),
  requestMethod({
    method: 'order.cancel',
    params: { orderId: required('id') },
    backend: { provider: OrderDesk },
  }),
];

@Module({
  imports: [
    EventEmitterModule.forRoot(),
    RealtimeModule.forRoot({ auth: { secret: TEST_SECRET }, requests: { methods } }),
  ],
  providers: [OrderBook, OrderDesk],
})
class HostWithDeskModule {}

describe('request methods answered by a provider of the host app', () => {
  let app: INestApplication;
  let url: string;
  const sockets: Socket[] = [];

  const connect = async (userId: string): Promise<Socket> => {
    const socket = io(`${url}/ws`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: hsToken(userId) },
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connected', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  };

  beforeAll(async () => {
    app = await NestFactory.create(HostWithDeskModule, { logger: false });
    app.useWebSocketAdapter(new RealtimeIoAdapter(app));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await app?.close();
  });

  it("answers with the handler's result, its refusal's code, or INTERNAL for its crash", async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const placed = await command(alice, 'request', {
      method: 'order.place',
      params: { symbol: 'BTCUSDT' },
      requestId: 'p-1',
    });
    expect(placed).toEqual({
      ok: true,
      method: 'order.place',
      requestId: 'p-1',
      result: { orderId: 'o-1', status: 'new' },
    });
    const desk = app.get(OrderDesk);
    expect(desk.seen[0]).toMatchObject({ userId: 'alice', params: { symbol: 'BTCUSDT' } });

    // Another user cannot cancel it: the handler sees bob, whatever bob sends.
    const stolen = await command(bob, 'request', {
      method: 'order.cancel',
      params: { orderId: 'o-1' },
    });
    expect(stolen.error).toEqual({ code: 'UNKNOWN_ORDER', message: 'no open order o-1' });
    const cancelled = await command(alice, 'request', {
      method: 'order.cancel',
      params: { orderId: 'o-1' },
    });
    expect(cancelled.result).toEqual({ orderId: 'o-1', status: 'cancelled' });

    const crashed = await command(alice, 'request', {
      method: 'order.place',
      params: { symbol: 'BOOMUSDT' },
    });
    expect(crashed.error).toEqual({ code: 'INTERNAL', message: 'internal error' });
    expect((await command(alice, 'ping')).ok).toBe(true);
  });

  it('stops start-up with one line when a provider is not in the app', async () => {
    @Module({
      imports: [EventEmitterModule.forRoot(), RealtimeModule.forRoot({ requests: { methods } })],
    })
    class HostWithoutDeskModule {}
    const broken = await NestFactory.create(HostWithoutDeskModule, { logger: false });
    broken.useWebSocketAdapter(new RealtimeIoAdapter(broken));
    let failure: unknown;
    try {
      await broken.init();
    } catch (error) {
      failure = error;
    } finally {
      await broken.close().catch(() => undefined);
    }
    expect(failure).toBeInstanceOf(RealtimeOptionsError);
    expect(String((failure as Error).message)).toMatch(
      /requests\.methods\[0\]\.backend\.provider.*OrderDesk is not a provider of the app/,
    );
  });
});
