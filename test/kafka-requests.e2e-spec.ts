import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Consumer, Producer } from 'kafkajs';
import vm from 'node:vm';
import { KafkaRequests } from '../libs/realtime/src/requests/kafka-requests.js';
import {
  BackendUnavailable,
  type BackendAnswer,
  type RelayedRequest,
} from '../libs/realtime/src/requests/request-transport.js';
import { sleep, until } from './support/gateway-harness.js';
import { TestKafka, connectedProducer, ensureTopics, kafkaClient } from './support/kafka.js';

/**
 * KafkaRequests against a real broker: a test backend consumes the request topic with kafkajs
 * and produces its replies to the reply topic the request names, the way a backend would.
 */

const RUN = Date.now().toString(36);
const kafka = new TestKafka();
/** The real process: the one of Jest's sandbox does not see the host's unhandled rejections. */
const hostProcess = vm.runInThisContext('process') as NodeJS.Process;

afterAll(async () => {
  await kafka.stopStarted();
}, 60_000);

/** What the backend does with a request, chosen by the test in `params.reply`. */
type ReplyMode =
  | 'header' // the answer, with the correlation id in a header
  | 'value' // the answer, with the correlation id in the value
  | 'refuse' // a refusal, header variant
  | 'late' // the answer, after params.delayMs
  | 'not-json' // a value that is not JSON, header variant
  | 'no-code' // a refusal without a code, header variant
  | 'value-no-code' // a refusal without a code, value variant
  | 'orphan' // a reply nobody can route (no id anywhere, not JSON), then the answer
  | 'none'; // no reply at all

interface ReceivedRequest {
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly request: RelayedRequest;
}

/** A backend: reads requests from its topics and replies as each request's `params.reply` says. */
class TestBackend {
  readonly received: ReceivedRequest[] = [];
  /** Correlation ids of the replies produced, in order. */
  readonly replied: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly consumer: Consumer,
    private readonly producer: Producer,
  ) {}

  static async start(brokers: string, topics: string[]): Promise<TestBackend> {
    const consumer = kafkaClient(brokers).consumer({
      groupId: `requests-backend-${RUN}-${topics.join('-')}`,
      maxWaitTimeInMs: 100,
      retry: { initialRetryTime: 300, maxRetryTime: 3_000, retries: 10 },
    });
    const producer = await connectedProducer(brokers);
    const backend = new TestBackend(consumer, producer);
    await consumer.connect();
    // The topics are this run's own: from the beginning loses no request sent before the join.
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {}))
          headers[name] = String(value);
        const request = JSON.parse(message.value!.toString()) as RelayedRequest;
        backend.received.push({ topic, key: message.key?.toString() ?? null, headers, request });
        await backend.reply(headers, request);
      },
    });
    return backend;
  }

  receivedFor(requestId: string): ReceivedRequest | undefined {
    return this.received.find((received) => received.request.requestId === requestId);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  private async reply(headers: Record<string, string>, request: RelayedRequest): Promise<void> {
    const correlationId = headers['correlation-id'];
    const mode = request.params.reply as ReplyMode;
    const answer = { ok: true, result: { echo: request } };
    const produce = async (value: string | null, withHeader = true): Promise<void> => {
      await this.producer.send({
        topic: headers['reply-topic'],
        messages: [
          {
            key: headers['instance-id'],
            value,
            headers: withHeader ? { 'correlation-id': correlationId } : {},
          },
        ],
      });
      this.replied.push(correlationId);
    };
    switch (mode) {
      case 'header':
        return produce(JSON.stringify(answer));
      case 'value':
        return produce(JSON.stringify({ correlationId, ...answer }), false);
      case 'refuse':
        return produce(
          JSON.stringify({ ok: false, error: { code: 'INSUFFICIENT_FUNDS', message: 'no' } }),
        );
      case 'late': {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          void produce(JSON.stringify(answer));
        }, Number(request.params.delayMs));
        this.timers.add(timer);
        return;
      }
      case 'not-json':
        return produce('{not json');
      case 'no-code':
        return produce(JSON.stringify({ ok: false, error: { message: 'no code' } }));
      case 'value-no-code':
        return produce(JSON.stringify({ correlationId, ok: false, error: {} }), false);
      case 'orphan':
        await produce('{not json either', false);
        return produce(JSON.stringify(answer));
      case 'none':
        return;
    }
  }
}

let sequence = 0;

/** A request whose relay gives up after `waitMs`: the signal aborts at its deadline. */
function request(
  instance: string,
  reply: ReplyMode,
  options: { waitMs?: number; userId?: string | null; params?: Record<string, unknown> } = {},
): { request: RelayedRequest; signal: AbortSignal } {
  const waitMs = options.waitMs ?? 10_000;
  sequence += 1;
  return {
    request: {
      method: 'order.place',
      params: { symbol: 'BTC-USD', qty: '1', reply, ...options.params },
      userId: options.userId === undefined ? `user-${sequence % 5}` : options.userId,
      requestId: `req-${RUN}-${sequence}`,
      connectionId: `conn-${sequence}`,
      instanceId: instance,
      deadline: Date.now() + waitMs,
    },
    signal: AbortSignal.timeout(waitMs),
  };
}

/** What a send came to: the answer, or the error's name and message. */
async function outcome(
  sent: Promise<BackendAnswer>,
): Promise<{ answer: BackendAnswer } | { error: string; message: string }> {
  try {
    return { answer: await sent };
  } catch (error) {
    const failure = error as Error;
    return { error: failure.name, message: failure.message };
  }
}

const echoOf = (answer: BackendAnswer) =>
  (answer as { ok: true; result: { echo: RelayedRequest } }).result.echo;

describe('KafkaRequests (real broker)', () => {
  const requestTopic = `realtime.test-requests-${RUN}`;
  const replyTopic = `realtime.test-replies-${RUN}`;
  const instanceA = `gw-a-${RUN}`;
  const instanceB = `gw-b-${RUN}`;
  let brokers: string;
  let backend: TestBackend;
  let a: KafkaRequests;
  let b: KafkaRequests;
  const start = (instanceId: string, maxPending?: number) =>
    KafkaRequests.start({
      brokers: brokers.split(','),
      clientId: 'kafka-requests-test',
      replyTopic,
      instanceId,
      ...(maxPending === undefined ? {} : { maxPending }),
    });

  beforeAll(async () => {
    brokers = await kafka.shared();
    await ensureTopics(brokers, [requestTopic]);
    backend = await TestBackend.start(brokers, [requestTopic]);
    // The reply topic does not exist yet: the first instance creates it.
    [a, b] = await Promise.all([start(instanceA), start(instanceB)]);
  }, 180_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await backend?.stop();
  });

  it('starts ready, having created the reply topic', async () => {
    expect(a.readiness()).toEqual({ ready: true, state: 'ready' });
    expect(b.readiness()).toEqual({ ready: true, state: 'ready' });
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toContain(replyTopic);
    } finally {
      await admin.disconnect();
    }
  });

  it('relays a request and settles with the reply: the record keyed by the user, with the routing headers', async () => {
    const sent = request(instanceA, 'header', { userId: 'user-42' });
    const answer = await a.transport(requestTopic).send(sent.request, sent.signal);
    expect(echoOf(answer)).toEqual(sent.request);

    const received = backend.receivedFor(sent.request.requestId)!;
    expect(received.topic).toBe(requestTopic);
    expect(received.key).toBe('user-42');
    expect(received.request).toEqual(sent.request);
    expect(received.headers).toEqual({
      'correlation-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'reply-topic': replyTopic,
      'instance-id': instanceA,
      deadline: String(sent.request.deadline),
    });
    expect(a.waiting).toBe(0);
  });

  it('keys an anonymous request by its connection, and passes a refusal on as it is', async () => {
    const sent = request(instanceA, 'refuse', { userId: null });
    await expect(a.transport(requestTopic).send(sent.request, sent.signal)).resolves.toEqual({
      ok: false,
      error: { code: 'INSUFFICIENT_FUNDS', message: 'no' },
    });
    expect(backend.receivedFor(sent.request.requestId)!.key).toBe(sent.request.connectionId);
  });

  it('reads the correlation id from the value when the reply has no header', async () => {
    const sent = request(instanceA, 'value');
    const answer = await a.transport(requestTopic).send(sent.request, sent.signal);
    expect(echoOf(answer)).toEqual(sent.request);
    expect(a.waiting).toBe(0);
  });

  it('two instances sharing the reply topic each get only their own replies', async () => {
    const sends = Array.from({ length: 40 }, (_, i) => {
      const [requests, instance] = i % 2 === 0 ? [a, instanceA] : [b, instanceB];
      const sent = request(instance, i % 4 < 2 ? 'header' : 'value');
      return { sent, answer: requests.transport(requestTopic).send(sent.request, sent.signal) };
    });
    expect(a.waiting + b.waiting).toBeGreaterThan(0);
    const outcomes = await Promise.all(sends.map(({ answer }) => outcome(answer)));
    expect(outcomes).toEqual(sends.map(() => ({ answer: expect.anything() })));
    sends.forEach(({ sent }, i) =>
      expect(echoOf((outcomes[i] as { answer: BackendAnswer }).answer)).toEqual(sent.request),
    );
    expect(a.waiting).toBe(0);
    expect(b.waiting).toBe(0);
  });

  it('drops a reply that comes after the deadline: the request rejected at its signal, nothing left waiting', async () => {
    const late = request(instanceA, 'late', { waitMs: 500, params: { delayMs: 2_000 } });
    const sent = a.transport(requestTopic).send(late.request, late.signal);
    expect(a.waiting).toBe(1);
    const failed = await outcome(sent);
    // The backend got it and did not answer in time: the signal's reason, not UNAVAILABLE.
    expect(failed).toMatchObject({ error: 'TimeoutError' });
    expect(a.waiting).toBe(0);

    await until(() => !!backend.receivedFor(late.request.requestId), 10_000, 'the late request');
    const correlationId = backend.receivedFor(late.request.requestId)!.headers['correlation-id'];
    await until(() => backend.replied.includes(correlationId), 10_000, 'the late reply');
    // Read and dropped: the next request is answered, and nothing was left behind.
    const next = request(instanceA, 'header');
    expect(echoOf(await a.transport(requestTopic).send(next.request, next.signal))).toEqual(
      next.request,
    );
    expect(a.waiting).toBe(0);
  });

  it('fails a request with BackendUnavailable on a malformed reply, and answers the next', async () => {
    for (const mode of ['not-json', 'no-code', 'value-no-code'] as const) {
      const bad = request(instanceA, mode);
      const failed = await outcome(a.transport(requestTopic).send(bad.request, bad.signal));
      expect(failed).toEqual({
        error: 'BackendUnavailable',
        message: expect.stringContaining("the backend's reply was malformed"),
      });
      expect(a.waiting).toBe(0);

      const next = request(instanceA, 'header');
      expect(echoOf(await a.transport(requestTopic).send(next.request, next.signal))).toEqual(
        next.request,
      );
    }
    // A reply nobody can route is skipped; the answer right after it still arrives.
    const orphan = request(instanceA, 'orphan');
    expect(echoOf(await a.transport(requestTopic).send(orphan.request, orphan.signal))).toEqual(
      orphan.request,
    );
  });

  it('answers BackendUnavailable for a missing request topic, within the deadline, without creating it', async () => {
    const missing = `realtime.test-missing-${RUN}`;
    const sent = request(instanceA, 'header', { waitMs: 15_000 });
    const failed = await outcome(a.transport(missing).send(sent.request, sent.signal));
    // Kafka's own refusal, not the deadline's abort.
    expect(failed).toEqual({
      error: 'BackendUnavailable',
      message: expect.stringMatching(/^Kafka did not take the request: /),
    });
    expect(sent.signal.aborted).toBe(false);
    expect(a.waiting).toBe(0);

    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(missing);
    } finally {
      await admin.disconnect();
    }
    // The producer is not left stuck on the missing topic.
    const next = request(instanceA, 'header');
    expect(echoOf(await a.transport(requestTopic).send(next.request, next.signal))).toEqual(
      next.request,
    );
  });

  it('refuses a request past maxPending at once; close() rejects the waiting ones and later sends', async () => {
    const c = await start(`gw-c-${RUN}`, 2);
    try {
      const transport = c.transport(requestTopic);
      const waiting = [request(`gw-c-${RUN}`, 'none'), request(`gw-c-${RUN}`, 'none')].map((sent) =>
        outcome(transport.send(sent.request, sent.signal)),
      );
      const third = request(`gw-c-${RUN}`, 'header');
      expect(await outcome(transport.send(third.request, third.signal))).toEqual({
        error: 'BackendUnavailable',
        message: '2 requests are already waiting for Kafka replies on this instance',
      });
      expect(c.waiting).toBe(2);
      await until(
        () => backend.received.filter((r) => r.request.instanceId === `gw-c-${RUN}`).length === 2,
        10_000,
        'the backend to get both requests',
      );

      await c.close();
      for (const failed of await Promise.all(waiting))
        expect(failed).toEqual({
          error: 'BackendUnavailable',
          message: 'the gateway is shutting down',
        });
      expect(c.waiting).toBe(0);
      expect(c.readiness()).toEqual({ ready: false, state: 'stopped' });
      const after = request(`gw-c-${RUN}`, 'header');
      await expect(transport.send(after.request, after.signal)).rejects.toBeInstanceOf(
        BackendUnavailable,
      );
    } finally {
      await c.close();
    }
  });
});

describe('KafkaRequests with an unreachable broker', () => {
  it('starts anyway, reports not ready and answers BackendUnavailable', async () => {
    const requests = await KafkaRequests.start({
      brokers: ['127.0.0.1:1'],
      clientId: 'kafka-requests-test',
      replyTopic: `realtime.test-replies-${RUN}`,
      instanceId: `gw-unreachable-${RUN}`,
    });
    try {
      expect(requests.readiness()).toEqual({
        ready: false,
        state: 'connecting',
        problem: expect.any(String),
      });
      const sent = request(`gw-unreachable-${RUN}`, 'header');
      const failed = await outcome(
        requests.transport(`realtime.test-requests-${RUN}`).send(sent.request, sent.signal),
      );
      expect(failed).toEqual({
        error: 'BackendUnavailable',
        message: expect.stringMatching(/^Kafka is not reachable yet: /),
      });
      expect(requests.waiting).toBe(0);
    } finally {
      await requests.close();
    }
    expect(requests.readiness()).toMatchObject({ ready: false, state: 'stopped' });
  });
});

describe('KafkaRequests: broker stopped and restarted under traffic', () => {
  const port = Number(process.env.KAFKA_REQUESTS_RESTART_TEST_PORT ?? 29292);
  const brokers = `127.0.0.1:${port}`;
  const requestTopic = `realtime.test-requests-${RUN}`;
  const instance = `gw-restart-${RUN}`;
  /** Unhandled rejections of the host process (Jest fails the test on them too). */
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  let backend: TestBackend | undefined;
  let requests: KafkaRequests | undefined;

  beforeAll(async () => {
    hostProcess.on('unhandledRejection', onUnhandled);
    await kafka.start(port);
    await ensureTopics(brokers, [requestTopic]);
    backend = await TestBackend.start(brokers, [requestTopic]);
    requests = await KafkaRequests.start({
      brokers: [brokers],
      clientId: 'kafka-requests-restart-test',
      replyTopic: `realtime.test-replies-${RUN}`,
      instanceId: instance,
    });
  }, 180_000);

  afterAll(async () => {
    await requests?.close();
    await backend?.stop().catch(() => undefined);
    await kafka.stop(port);
    hostProcess.off('unhandledRejection', onUnhandled);
  }, 60_000);

  it('fails requests promptly while the broker is down, and answers again after it is back', async () => {
    const transport = requests!.transport(requestTopic);
    expect(requests!.readiness()).toEqual({ ready: true, state: 'ready' });
    const first = request(instance, 'header');
    expect(echoOf(await transport.send(first.request, first.signal))).toEqual(first.request);

    // Traffic: a request every 100 ms, each giving up after 3 s.
    type Outcome = Awaited<ReturnType<typeof outcome>>;
    const settled: Array<{ phase: string; outcome: Outcome }> = [];
    let phase = 'up';
    let sending = true;
    let inFlight = 0;
    const traffic = (async () => {
      while (sending) {
        const sent = request(instance, 'header', { waitMs: 3_000 });
        const at = phase;
        inFlight += 1;
        void outcome(transport.send(sent.request, sent.signal)).then((result) => {
          inFlight -= 1;
          settled.push({ phase: at, outcome: result });
        });
        await sleep(100);
      }
    })();
    const succeeded = (at: string) =>
      settled.filter((s) => s.phase === at && 'answer' in s.outcome).length;
    await until(() => succeeded('up') >= 5, 20_000, 'answers before the outage');

    phase = 'stopping';
    await kafka.stop(port);
    phase = 'down';
    await until(() => !requests!.readiness().ready, 60_000, 'readiness to notice the outage');
    expect(requests!.readiness()).toMatchObject({ ready: false, state: 'reconnecting' });
    // Requests sent while the broker is down, each settled by its deadline at the latest.
    await until(
      () => settled.filter((s) => s.phase === 'down').length >= 20,
      30_000,
      'requests sent during the outage to settle',
    );

    phase = 'restarting';
    await kafka.start(port);
    phase = 'restarted';
    await until(() => succeeded('restarted') >= 5, 120_000, 'answers after the restart');
    sending = false;
    await traffic;
    await until(() => inFlight === 0, 10_000, 'the last requests to settle');

    const down = settled.filter((s) => s.phase === 'down').map((s) => s.outcome);
    expect(down.length).toBeGreaterThanOrEqual(20);
    // Kafka never took them: UNAVAILABLE (a producer error or the deadline), never TIMEOUT.
    for (const failed of down)
      expect(failed).toEqual({
        error: 'BackendUnavailable',
        message: expect.stringContaining('Kafka did not take the request'),
      });
    // Every request of any phase settled with an answer, UNAVAILABLE or its deadline.
    for (const { outcome: any } of settled)
      if (!('answer' in any)) expect(any.error).toMatch(/^(BackendUnavailable|TimeoutError)$/);
    expect(requests!.readiness()).toEqual({ ready: true, state: 'ready' });
    expect(requests!.waiting).toBe(0);

    // The same instance, not a new one: its transport answers again.
    const after = request(instance, 'value');
    expect(echoOf(await transport.send(after.request, after.signal))).toEqual(after.request);
    expect(unhandled).toEqual([]);
  }, 300_000);
});
