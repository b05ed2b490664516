import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import {
  RealtimeIoAdapter,
  RealtimeModule,
  RequestRefused,
  required,
  requestMethod,
  type RealtimeRequestHandler,
  type RelayedRequest,
} from '#realtime';
import { AppWebSocketGateway } from '#realtime/internal';
import { RealtimeClient, RealtimeRequestError } from '../libs/client/src/index.js';
import { ClientNetwork } from './support/client-network.js';
import { GatewayHarness, until } from './support/gateway-harness.js';
import { HttpBackend } from './support/http-backend.js';
import { freePort } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

/**
 * The test's backend, in process: counts every call it gets, per requestId, and holds the
 * calls of `slow.echo` until the test lets them go.
 */
@Injectable()
class CountingDesk implements RealtimeRequestHandler {
  readonly calls: RelayedRequest[] = [];
  private readonly held: Array<() => void> = [];

  async handle(request: RelayedRequest): Promise<unknown> {
    this.calls.push(request);
    if (request.method === 'order.place') {
      if (Number(request.params.quantity) > 10)
        throw new RequestRefused('INSUFFICIENT_FUNDS', 'not enough USDT for the order');
      return { orderId: `o-${this.calls.length}`, status: 'new', userId: request.userId };
    }
    await new Promise<void>((resolve) => this.held.push(resolve));
    return { echo: request.params.text, calls: this.callsOf(request.requestId) };
  }

  callsOf(requestId: string): number {
    return this.calls.filter((call) => call.requestId === requestId).length;
  }

  /** Answers every held call. */
  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  get holding(): number {
    return this.held.length;
  }
}

const methods = [
  requestMethod({
    method: 'order.place',
    params: { symbol: required('symbol'), quantity: required('decimal') },
    backend: { provider: CountingDesk },
  }),
  requestMethod({
    method: 'slow.echo',
    params: { text: required('string') },
    // Long enough for the test to cut the client off and let it come back.
    timeoutMs: 30_000,
    rate: { perSecond: 1000 },
    backend: { provider: CountingDesk },
  }),
];

@Module({
  imports: [
    EventEmitterModule.forRoot(),
    RealtimeModule.forRoot({ auth: { secret: TEST_SECRET }, requests: { methods } }),
  ],
  providers: [CountingDesk],
})
class HostModule {}

describe('client SDK request(): backend methods over the live connection', () => {
  let app: INestApplication;
  let port: number;
  let desk: CountingDesk;
  const clients: RealtimeClient[] = [];
  const networks: ClientNetwork[] = [];

  beforeAll(async () => {
    app = await NestFactory.create(HostModule, { logger: false });
    app.useWebSocketAdapter(new RealtimeIoAdapter(app));
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
    desk = app.get(CountingDesk);
  });

  afterEach(async () => {
    desk.release();
    for (const client of clients.splice(0)) client.close();
    for (const network of networks.splice(0)) await network.stop();
  });

  afterAll(async () => {
    await app?.close();
  });

  async function network(): Promise<ClientNetwork> {
    const started = await new ClientNetwork(port).start();
    networks.push(started);
    return started;
  }

  /** An SDK client signed in as `user` through `net`, and the request bodies it sent. */
  function client(net: ClientNetwork, user = 'ria') {
    const sdk = new RealtimeClient({ url: net.url, token: hsToken(user, { ttlSeconds: 600 }) });
    clients.push(sdk);
    const sent: any[] = [];
    (
      sdk as unknown as { socket: { onAnyOutgoing: (l: (...a: any[]) => void) => void } }
    ).socket.onAnyOutgoing((event: string, body: unknown) => {
      if (event === 'request') sent.push(body);
    });
    return { sdk, sent };
  }

  it('resolves with the backend result; a request made before the connection goes out once connected', async () => {
    const { sdk, sent } = client(await network());
    // Not connected yet: it waits for the connection.
    const placed = sdk.request('order.place', { symbol: 'BTCUSDT', quantity: '1' });
    expect(sdk.pendingRequests).toBe(1);
    const result = await placed;
    expect(result).toEqual({
      orderId: expect.stringMatching(/^o-\d+$/),
      status: 'new',
      userId: 'ria',
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual({
      method: 'order.place',
      params: { symbol: 'BTCUSDT', quantity: '1' },
      requestId: expect.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
    });
    const call = desk.calls.find((c) => c.requestId === sent[0].requestId)!;
    expect(call).toMatchObject({ method: 'order.place', userId: 'ria' });
    expect(sdk.pendingRequests).toBe(0);
  });

  it("rejects with the backend's refusal: code, message, method and requestId", async () => {
    const { sdk } = client(await network());
    const error = await sdk
      .request('order.place', { symbol: 'BTCUSDT', quantity: '100' }, { requestId: 'big-1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RealtimeRequestError);
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      message: 'not enough USDT for the order',
      method: 'order.place',
      requestId: 'big-1',
    });
    // The gateway's own refusals the same way: params its schema refuses.
    const invalid = await sdk
      .request('order.place', { symbol: 'BTCUSDT' }, { requestId: 'bad-1' })
      .catch((e: RealtimeRequestError) => e);
    expect(invalid).toMatchObject({ code: 'INVALID_PAYLOAD', requestId: 'bad-1' });
    const unknown = await sdk.request('order.nothing').catch((e: RealtimeRequestError) => e);
    expect(unknown).toMatchObject({ code: 'UNKNOWN_METHOD', method: 'order.nothing' });
  });

  it('sends the request again with the same requestId after its connection was cut: the backend is called once, the client gets the answer', async () => {
    const net = await network();
    const { sdk, sent } = client(net);
    await until(() => sdk.state.value === 'connected', 5000, 'connected');
    const before = desk.calls.length;
    const echoed = sdk.request('slow.echo', { text: 'hello' }, { timeoutMs: 25_000 });
    await until(() => desk.holding === 1, 5000, 'the backend to get the request');

    // The connection dies while the backend works on it; the answer has nowhere to go.
    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the client to see the cut');
    desk.release();
    net.goOnline();

    const result = await echoed;
    const requestId = sent[0].requestId as string;
    expect(result).toEqual({ echo: 'hello', calls: 1 });
    expect(sent.map((body) => body.requestId)).toEqual([requestId, requestId]);
    expect(desk.callsOf(requestId)).toBe(1);
    expect(desk.calls.length - before).toBe(1);
  });

  it('sent again while the first is still in flight, it gets the first answer when the backend gives it', async () => {
    const net = await network();
    const { sdk, sent } = client(net);
    await until(() => sdk.state.value === 'connected', 5000, 'connected');
    const echoed = sdk.request('slow.echo', { text: 'again' }, { requestId: 'flight-1' });
    await until(() => desk.holding === 1, 5000, 'the backend to get the request');
    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the client to see the cut');
    net.goOnline();
    // Back, and the request sent again on the new connection, the backend still holding it.
    await until(() => sent.length === 2, 15_000, 'the request to go again after the reconnect');
    expect(sdk.state.value).toBe('connected');
    desk.release();
    expect(await echoed).toEqual({ echo: 'again', calls: 1 });
    expect(sent.map((body) => body.requestId)).toEqual(['flight-1', 'flight-1']);
    expect(desk.callsOf('flight-1')).toBe(1);
  });

  it('sends at most 16 at once on a connection (the gateway refuses more waiting), the rest as answers come', async () => {
    const { sdk, sent } = client(await network());
    await until(() => sdk.state.value === 'connected', 5000, 'connected');
    const texts = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const all = Promise.all(texts.map((text) => sdk.request('slow.echo', { text })));
    await until(() => desk.holding === 16, 5000, '16 requests at the backend');
    expect(sent).toHaveLength(16);
    desk.release();
    await until(() => desk.holding === 4, 5000, 'the other 4 at the backend');
    desk.release();
    const results = (await all) as Array<{ echo: string }>;
    expect(results.map((r) => r.echo)).toEqual(texts);
    expect(sent).toHaveLength(20);
  });

  it('rejects TIMEOUT when no answer comes within its timeoutMs', async () => {
    const { sdk } = client(await network());
    const error = await sdk
      .request('slow.echo', { text: 'late' }, { requestId: 'late-1', timeoutMs: 500 })
      .catch((e: RealtimeRequestError) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT', method: 'slow.echo', requestId: 'late-1' });
    expect(sdk.pendingRequests).toBe(0);
  });

  it('rejects what waits when the client is closed', async () => {
    const { sdk } = client(await network());
    await until(() => sdk.state.value === 'connected', 5000, 'connected');
    const waiting = sdk.request('slow.echo', { text: 'closed' });
    await until(() => desk.holding === 1, 5000, 'the backend to get the request');
    sdk.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(sdk.request('slow.echo', { text: 'after' })).rejects.toMatchObject({
      code: 'CLOSED',
    });
  });
});

describe('client SDK request() through the standalone gateway, two instances on Redis, an HTTP backend', () => {
  const backend = new HttpBackend();
  let redis: RedisServer;
  let a: GatewayHarness;
  let b: GatewayHarness;
  const clients: RealtimeClient[] = [];
  const networks: ClientNetwork[] = [];

  const realtime = (instanceId: string) => ({
    instanceId,
    auth: { secret: TEST_SECRET },
    requests: {
      httpSecret: 'a-secret-of-at-least-16-characters',
      methods: [
        requestMethod({
          method: 'order.place',
          params: { symbol: required('symbol'), quantity: required('decimal') },
          timeoutMs: 10_000,
          backend: { http: { url: backend.url } },
        }),
      ],
    },
  });

  beforeAll(async () => {
    await backend.start();
    redis = new RedisServer(await freePort());
    await redis.start();
    a = await GatewayHarness.start(realtime('a'), { redis: { url: redis.url } });
    b = await GatewayHarness.start(realtime('b'), { redis: { url: redis.url } });
  });

  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const network of networks.splice(0)) await network.stop();
    await a?.stop();
    await b?.stop();
    await redis?.stop();
    await backend.stop();
  });

  const portOf = (gateway: GatewayHarness) => Number(new URL(gateway.url).port);

  it('a request cut off on one instance is answered by the other after the reconnect, with one backend call', async () => {
    let served = 0;
    // The first answer takes a while: long enough for the client to lose its connection first.
    backend.plan = (call) => ({
      body: { ok: true, result: { orderId: ++served, requestId: call.body.requestId } },
      delayMs: 1500,
    });
    const net = await new ClientNetwork(portOf(a)).start();
    networks.push(net);
    const sdk = new RealtimeClient({ url: net.url, token: hsToken('noor', { ttlSeconds: 600 }) });
    clients.push(sdk);
    await until(() => sdk.state.value === 'connected', 5000, 'connected');
    const placed = sdk.request('order.place', { symbol: 'BTCUSDT', quantity: '1' });
    await until(() => backend.calls.length === 1, 5000, 'the backend to get the request');

    // Cut off, and back on the other instance.
    net.goOffline();
    await until(() => sdk.state.value === 'reconnecting', 5000, 'the client to see the cut');
    net.target = portOf(b);
    net.goOnline();

    const result = (await placed) as { orderId: number; requestId: string };
    expect(result.orderId).toBe(1);
    // Answered on b: the client's one connection is there now.
    const connections = (gateway: GatewayHarness) =>
      gateway.app.get(AppWebSocketGateway).server.sockets.size;
    expect([connections(a), connections(b)]).toEqual([0, 1]);
    expect(backend.calls).toHaveLength(1);
    expect(backend.calls[0]!.body).toMatchObject({
      method: 'order.place',
      userId: 'noor',
      requestId: result.requestId,
    });
  });
});

describe('client SDK: a subscribe cut off before its answer', () => {
  it('is asked again on the next connection and kept: not dropped, not left unanswered', async () => {
    // A scripted gateway that holds the first subscribe's answer forever.
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'] });
    const subscribes: any[] = [];
    io.of('/ws').on('connection', (socket) => {
      socket.emit('connected', { userId: null });
      socket.on('subscribe', (body: any, ack: (answer: unknown) => void) => {
        subscribes.push(body);
        if (subscribes.length === 1) return;
        ack({ ok: true, ...body, position: { offset: 0, epoch: 'e1' } });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const net = await new ClientNetwork((http.address() as AddressInfo).port).start();
    const sdk = new RealtimeClient({ url: net.url });
    try {
      await until(() => sdk.state.value === 'connected', 5000, 'connected');
      const subscribed = sdk.subscribe({ channel: 'trades', symbol: 'BTCUSDT' });
      await until(() => subscribes.length === 1, 5000, 'the first subscribe at the server');
      net.goOffline();
      await until(() => sdk.state.value === 'reconnecting', 5000, 'the client to see the cut');
      net.goOnline();
      expect(await subscribed).toMatchObject({ ok: true, channel: 'trades', symbol: 'BTCUSDT' });
      expect(subscribes).toHaveLength(2);
      expect(sdk.position({ channel: 'trades', symbol: 'BTCUSDT' })).toEqual({
        offset: 0,
        epoch: 'e1',
      });
      // Kept: the next reconnect makes it again, from its position.
      net.goOffline();
      await until(() => sdk.state.value === 'reconnecting', 5000, 'the second cut');
      net.goOnline();
      await until(() => subscribes.length === 3, 15_000, 'the resubscribe');
      expect(subscribes[2]).toMatchObject({
        channel: 'trades',
        symbol: 'BTCUSDT',
        since: { offset: 0, epoch: 'e1' },
      });
    } finally {
      sdk.close();
      await net.stop();
      await io.close();
    }
  });
});
