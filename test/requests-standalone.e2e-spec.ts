import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { Consumer, Producer } from 'kafkajs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { RelayedRequest } from '#realtime';
import { command, until } from './support/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from './support/gateway-process.js';
import { HttpBackend } from './support/http-backend.js';
import { runUntilExit } from './support/processes.js';
import { TestKafka, connectedProducer, ensureTopics, kafkaClient } from './support/kafka.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

/**
 * The request relay in the built standalone gateway, configured by the environment alone:
 * a CATALOGUE_FILE declaring an http method and kafka methods, REQUEST_HTTP_SECRET, and
 * REQUEST_REPLY_TOPIC on the real broker of KAFKA_BROKERS. The backends are real: an HTTP
 * server, and a Kafka consumer of the request topic producing replies with the correlation id.
 */

const RUN = Date.now().toString(36);
const HTTP_SECRET = 'standalone-request-secret-0123';
const ORDERS_TOPIC = `realtime.sa-orders-${RUN}`;
const NOBODY_TOPIC = `realtime.sa-nobody-${RUN}`;
const REPLY_TOPIC = `realtime.sa-replies-${RUN}`;
const INGRESS_TOPIC = `realtime.sa-ingress-${RUN}`;
const kafka = new TestKafka();
const dir = mkdtempSync(join(tmpdir(), 'requests-standalone-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ReceivedRequest {
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly request: RelayedRequest;
}

/** Reads the request topic and answers each request unless its params say `reply: none`. */
class KafkaBackend {
  readonly received: ReceivedRequest[] = [];

  private constructor(
    private readonly consumer: Consumer,
    private readonly producer: Producer,
  ) {}

  static async start(brokers: string, topic: string): Promise<KafkaBackend> {
    const consumer = kafkaClient(brokers).consumer({
      groupId: `standalone-backend-${RUN}`,
      maxWaitTimeInMs: 100,
    });
    const producer = await connectedProducer(brokers);
    const backend = new KafkaBackend(consumer, producer);
    await consumer.connect();
    // The topic is this run's own: from the beginning loses no request sent before the join.
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {}))
          headers[name] = String(value);
        const request = JSON.parse(message.value!.toString()) as RelayedRequest;
        backend.received.push({ key: message.key?.toString() ?? null, headers, request });
        if (request.params.reply === 'none') return;
        await producer.send({
          topic: headers['reply-topic']!,
          messages: [
            {
              key: headers['instance-id'],
              value: JSON.stringify({
                ok: true,
                result: { answeredBy: 'kafka', userId: request.userId, params: request.params },
              }),
              headers: { 'correlation-id': headers['correlation-id']! },
            },
          ],
        });
      },
    });
    return backend;
  }

  receivedFor(requestId: string): ReceivedRequest | undefined {
    return this.received.find((received) => received.request.requestId === requestId);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }
}

const request = (socket: Socket, body: unknown) => command(socket, 'request', body);

async function signedIn(url: string, user: string): Promise<Socket> {
  const socket = io(`${url}/ws`, {
    transports: ['websocket'],
    reconnection: false,
    auth: { token: hsToken(user) },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connected', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

describe('the request relay of the built standalone gateway (CATALOGUE_FILE methods, real Kafka and HTTP backends)', () => {
  const http = new HttpBackend();
  let brokers: string;
  let backend: KafkaBackend;
  let gateway: GatewayProcess;
  let alice: Socket;

  beforeAll(async () => {
    brokers = await kafka.shared();
    await ensureTopics(brokers, [ORDERS_TOPIC, NOBODY_TOPIC, INGRESS_TOPIC]);
    backend = await KafkaBackend.start(brokers, ORDERS_TOPIC);
    await http.start();
    http.plan = (call) => ({
      body: { ok: true, result: { answeredBy: 'http', userId: call.body.userId } },
    });
    const file = join(dir, 'catalogue.yaml');
    writeFileSync(
      file,
      `methods:
  - method: account.balance
    description: The caller's balances
    params:
      asset: { type: string, required: true }
    timeoutMs: 3000
    http: { url: "${http.url}" }
  - method: order.place
    params:
      symbol: { type: symbol, required: true }
      quantity: { type: decimal, required: true }
      reply: string
    rate: { perSecond: 50, burst: 50 }
    timeoutMs: 1500
    kafka: { topic: ${ORDERS_TOPIC} }
  - method: order.audit
    timeoutMs: 1500
    kafka: { topic: ${NOBODY_TOPIC} }
`,
    );
    gateway = await startGatewayProcess({
      JWT_SECRET: TEST_SECRET,
      CATALOGUE_FILE: file,
      REQUEST_HTTP_SECRET: HTTP_SECRET,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPICS: INGRESS_TOPIC,
      KAFKA_GROUP_ID: `standalone-requests-${RUN}`,
      REQUEST_REPLY_TOPIC: REPLY_TOPIC,
      DRAIN_TIMEOUT_MS: '500',
    });
    alice = await signedIn(gateway.url, 'alice');
  }, 180_000);

  afterAll(async () => {
    alice?.disconnect();
    await gateway?.process.stop();
    await backend?.stop();
    await http.stop();
    await kafka.stopStarted();
  }, 60_000);

  it('relays an http method to the HTTP backend, with the secret and the verified user', async () => {
    expect(
      await request(alice, {
        method: 'account.balance',
        params: { asset: 'BTC' },
        requestId: 'balance-1',
      }),
    ).toEqual({
      ok: true,
      method: 'account.balance',
      requestId: 'balance-1',
      result: { answeredBy: 'http', userId: 'alice' },
    });
    expect(http.calls).toHaveLength(1);
    const [{ headers, body }] = http.calls;
    expect(headers['x-realtime-secret']).toBe(HTTP_SECRET);
    expect(body).toMatchObject({
      method: 'account.balance',
      params: { asset: 'BTC' },
      userId: 'alice',
      requestId: 'balance-1',
      connectionId: alice.id,
    });
  });

  it('relays a kafka method: the record keyed by the verified user, answered on the reply topic', async () => {
    const params = { symbol: 'BTCUSDT', quantity: '0.5' };
    expect(await request(alice, { method: 'order.place', params, requestId: 'place-1' })).toEqual({
      ok: true,
      method: 'order.place',
      requestId: 'place-1',
      result: { answeredBy: 'kafka', userId: 'alice', params },
    });
    const received = backend.receivedFor('place-1')!;
    expect(received.key).toBe('alice');
    expect(received.request).toMatchObject({
      method: 'order.place',
      params,
      userId: 'alice',
      connectionId: alice.id,
    });
    expect(received.headers['reply-topic']).toBe(REPLY_TOPIC);
    expect(received.headers['correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers TIMEOUT when the Kafka backend got the request and does not answer', async () => {
    expect(
      await request(alice, {
        method: 'order.place',
        params: { symbol: 'BTCUSDT', quantity: '1', reply: 'none' },
        requestId: 'place-silent',
      }),
    ).toMatchObject({
      ok: false,
      command: 'request',
      method: 'order.place',
      requestId: 'place-silent',
      error: { code: 'TIMEOUT', message: 'the backend did not answer within 1500 ms' },
    });
    await until(() => !!backend.receivedFor('place-silent'), 10_000, 'the silent request');
    expect(backend.receivedFor('place-silent')!.key).toBe('alice');
  });

  it('answers a method whose topic nobody consumes within its timeout, and the connection goes on', async () => {
    // command() waits 5 s for the ack: the answer comes at the method's 1500 ms timeout.
    expect(await request(alice, { method: 'order.audit', requestId: 'audit-1' })).toMatchObject({
      ok: false,
      method: 'order.audit',
      requestId: 'audit-1',
      error: { code: 'TIMEOUT' },
    });
    expect(
      await request(alice, {
        method: 'order.place',
        params: { symbol: 'ETHUSDT', quantity: '2' },
        requestId: 'place-after',
      }),
    ).toMatchObject({ ok: true, result: { answeredBy: 'kafka', userId: 'alice' } });
  });

  it('counts the requests in /metrics as realtime_requests_total by method and outcome', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const lines = text.split('\n').filter((line) => line.startsWith('realtime_requests_total{'));
    const value = (method: string, outcome: string) =>
      Number(
        lines
          .find(
            (line) => line.includes(`method="${method}"`) && line.includes(`outcome="${outcome}"`),
          )
          ?.split(' ')
          .pop(),
      );
    expect(value('account.balance', 'ok')).toBe(1);
    expect(value('order.place', 'ok')).toBe(2);
    expect(value('order.place', 'TIMEOUT')).toBe(1);
    expect(value('order.audit', 'TIMEOUT')).toBe(1);
  });
});

describe('a methods section the standalone gateway cannot serve', () => {
  it('stops start-up with one line naming the file, the method and the field', async () => {
    const file = join(dir, 'provider.yaml');
    writeFileSync(file, 'methods:\n  - method: order.place\n    provider: OrdersHandler\n');
    const { code, stdout, stderr } = await runUntilExit(
      spawn(process.execPath, ['dist/apps/gateway/src/main.js'], {
        env: { ...process.env, CATALOGUE_FILE: file },
      }),
    );
    expect([code, stdout, stderr]).toEqual([
      1,
      '',
      `realtime-gateway: invalid configuration: CATALOGUE_FILE ${file}: methods[0].provider: a provider backend is a class of a host app, and the standalone gateway has none; use http: { url } or kafka: { topic }\n`,
    ]);
  });
});
