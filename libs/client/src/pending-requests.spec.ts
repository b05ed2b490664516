import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  PendingRequests,
  REQUEST_ID,
  RealtimeRequestError,
  newRequestId,
  type RequestAnswer,
  type RequestBody,
} from './pending-requests.js';

/** A fake connection: what was sent on it, and a way to answer each send. */
function wire() {
  const sent: Array<{ body: RequestBody; answer: (answer: RequestAnswer) => void }> = [];
  let ids = 0;
  const requests = new PendingRequests((body, answer) => sent.push({ body, answer }), {
    maxPending: 3,
    maxInFlight: 2,
    makeId: () => `id-${++ids}`,
  });
  return { requests, sent };
}

const success = (body: RequestBody, result: unknown): RequestAnswer => ({
  ok: true,
  method: body.method,
  requestId: body.requestId,
  result,
});
const refusal = (body: RequestBody, code: string, message: string): RequestAnswer => ({
  ok: false,
  command: 'request',
  method: body.method,
  requestId: body.requestId,
  error: { code, message },
});

async function rejection(promise: Promise<unknown>): Promise<RealtimeRequestError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RealtimeRequestError);
  return error as RealtimeRequestError;
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('PendingRequests', () => {
  it('sends at once when online and resolves with the result', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place', { symbol: 'BTCUSDT' });
    expect(sent.map((s) => s.body)).toEqual([
      { method: 'order.place', params: { symbol: 'BTCUSDT' }, requestId: 'id-1' },
    ]);
    expect(requests.size).toBe(1);
    sent[0]!.answer(success(sent[0]!.body, { orderId: 7, status: 'new' }));
    await expect(placed).resolves.toEqual({ orderId: 7, status: 'new' });
    expect(requests.size).toBe(0);
  });

  it('leaves params out when there are none, and keeps a given requestId', () => {
    const { requests, sent } = wire();
    requests.online(1);
    void requests.request('assistant.ask', undefined, { requestId: 'mine:1' }).catch(() => {});
    expect(sent[0]!.body).toEqual({ method: 'assistant.ask', requestId: 'mine:1' });
  });

  it('rejects a refusal with its code, message, method and requestId', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place', {}, { requestId: 'r1' });
    sent[0]!.answer(refusal(sent[0]!.body, 'INSUFFICIENT_FUNDS', 'not enough USDT'));
    const error = await rejection(placed);
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      message: 'not enough USDT',
      method: 'order.place',
      requestId: 'r1',
      name: 'RealtimeRequestError',
    });
  });

  it('holds a request made offline until a connection is ready', () => {
    const { requests, sent } = wire();
    void requests.request('order.cancel', { orderId: 1 }).catch(() => {});
    expect(sent).toEqual([]);
    requests.online(1);
    expect(sent.map((s) => s.body.requestId)).toEqual(['id-1']);
  });

  it('sends an unanswered request again on the next connection with the same requestId, once', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place', { symbol: 'ETHUSDT' });
    requests.offline();
    requests.online(2);
    // A second greeting of the same connection sends nothing again.
    requests.online(2);
    expect(sent.map((s) => s.body)).toEqual([
      { method: 'order.place', params: { symbol: 'ETHUSDT' }, requestId: 'id-1' },
      { method: 'order.place', params: { symbol: 'ETHUSDT' }, requestId: 'id-1' },
    ]);
    sent[1]!.answer(success(sent[1]!.body, 'second'));
    // A late answer to the first send changes nothing.
    sent[0]!.answer(refusal(sent[0]!.body, 'INTERNAL', 'late'));
    await expect(placed).resolves.toBe('second');
  });

  it('does not resend an answered request after a reconnect', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place');
    sent[0]!.answer(success(sent[0]!.body, 1));
    await placed;
    requests.offline();
    requests.online(2);
    expect(sent).toHaveLength(1);
  });

  it('rejects TIMEOUT past its deadline, reconnects included, and ignores a later answer', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place', {}, { timeoutMs: 2000 });
    requests.offline();
    jest.advanceTimersByTime(1999);
    requests.online(2);
    expect(sent).toHaveLength(2);
    jest.advanceTimersByTime(1);
    const error = await rejection(placed);
    expect(error).toMatchObject({ code: 'TIMEOUT', method: 'order.place', requestId: 'id-1' });
    expect(requests.size).toBe(0);
    sent[1]!.answer(success(sent[1]!.body, 'late'));
    requests.online(3);
    expect(sent).toHaveLength(2);
  });

  it('defaults to a 10 s deadline', async () => {
    const { requests } = wire();
    const placed = requests.request('order.place');
    jest.advanceTimersByTime(9999);
    expect(requests.size).toBe(1);
    jest.advanceTimersByTime(1);
    expect((await rejection(placed)).code).toBe('TIMEOUT');
  });

  it('keeps at most its bound waiting: past it, TOO_MANY_PENDING at once', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const waiting = [1, 2, 3].map(() => requests.request('order.place'));
    const refused = await rejection(requests.request('order.place'));
    expect(refused.code).toBe('TOO_MANY_PENDING');
    sent[0]!.answer(success(sent[0]!.body, 'one'));
    await expect(waiting[0]).resolves.toBe('one');
    // Room again for one more.
    void requests.request('order.place').catch(() => {});
    expect(requests.size).toBe(3);
    requests.close();
    for (const promise of waiting.slice(1)) expect((await rejection(promise)).code).toBe('CLOSED');
    expect((await rejection(requests.request('order.place'))).code).toBe('CLOSED');
  });

  it('sends at most maxInFlight at once per connection, the rest in order as answers come', () => {
    const { requests, sent } = wire();
    requests.online(1);
    for (let i = 0; i < 3; i++) void requests.request('order.place').catch(() => {});
    expect(sent.map((s) => s.body.requestId)).toEqual(['id-1', 'id-2']);
    sent[1]!.answer(success(sent[1]!.body, 2));
    expect(sent.map((s) => s.body.requestId)).toEqual(['id-1', 'id-2', 'id-3']);
    // A new connection: the two unanswered go again, within the same bound.
    requests.offline();
    requests.online(2);
    expect(sent.slice(3).map((s) => s.body.requestId)).toEqual(['id-1', 'id-3']);
  });

  it('sends a repeat refused RATE_LIMITED again later with its requestId: the first send may have reached the backend', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place', {}, { timeoutMs: 5000 });
    requests.offline();
    requests.online(2);
    sent[1]!.answer(refusal(sent[1]!.body, 'RATE_LIMITED', 'too fast'));
    expect(requests.size).toBe(1);
    jest.advanceTimersByTime(250);
    expect(sent.map((s) => s.body.requestId)).toEqual(['id-1', 'id-1', 'id-1']);
    sent[2]!.answer(success(sent[2]!.body, 'the first answer'));
    await expect(placed).resolves.toBe('the first answer');
  });

  it('rejects a first send refused RATE_LIMITED: the backend never got it', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place');
    sent[0]!.answer(refusal(sent[0]!.body, 'RATE_LIMITED', 'too fast'));
    expect((await rejection(placed)).code).toBe('RATE_LIMITED');
  });

  it('sends every request in turn when each send answers at once', async () => {
    const sent: string[] = [];
    const requests = new PendingRequests(
      (body, answer) => {
        sent.push(body.requestId);
        answer({ ok: true, method: body.method, requestId: body.requestId, result: 1 });
      },
      { maxInFlight: 1 },
    );
    const all = [1, 2, 3].map(() => requests.request('order.place'));
    requests.online(1);
    await Promise.all(all);
    expect(sent).toHaveLength(3);
  });

  it('refuses a requestId or a timeout it cannot send, without sending', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    for (const requestId of ['', 'has space', 'x'.repeat(65), 'ü']) {
      const error = await rejection(requests.request('order.place', {}, { requestId }));
      expect(error.code).toBe('INVALID_PAYLOAD');
    }
    for (const timeoutMs of [0, -1, Number.NaN]) {
      const error = await rejection(requests.request('order.place', {}, { timeoutMs }));
      expect(error.code).toBe('INVALID_PAYLOAD');
    }
    expect(sent).toEqual([]);
    expect(requests.size).toBe(0);
  });

  it('turns an answer without a result or an error code into INTERNAL', async () => {
    const { requests, sent } = wire();
    requests.online(1);
    const placed = requests.request('order.place');
    sent[0]!.answer({ ok: false } as unknown as RequestAnswer);
    expect((await rejection(placed)).code).toBe('INTERNAL');
  });
});

describe('newRequestId', () => {
  it('makes ids the gateway takes, a new one each time', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newRequestId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(REQUEST_ID);
  });

  it('still makes one without crypto.randomUUID (an http: page of a browser)', () => {
    const crypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: {}, configurable: true });
    try {
      const [a, b] = [newRequestId(), newRequestId()];
      expect(a).toMatch(REQUEST_ID);
      expect(a).not.toBe(b);
    } finally {
      Object.defineProperty(globalThis, 'crypto', crypto!);
    }
  });
});
