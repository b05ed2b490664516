import { describe, expect, it } from '@jest/globals';
import { headerCorrelationId, readReply, requestRecord } from './kafka-request-record.js';
import type { RelayedRequest } from './request-transport.js';

const request: RelayedRequest = {
  method: 'order.place',
  params: { symbol: 'BTC-USD', qty: '1' },
  userId: 'u1',
  requestId: 'r1',
  connectionId: 'c1',
  instanceId: 'gw-1',
  deadline: 1_700_000_000_000,
};

describe('requestRecord', () => {
  it('keys by the user, carries the request as JSON and the routing headers', () => {
    expect(requestRecord(request, 'corr-1', 'replies')).toEqual({
      key: 'u1',
      value: JSON.stringify(request),
      headers: {
        'correlation-id': 'corr-1',
        'reply-topic': 'replies',
        'instance-id': 'gw-1',
        deadline: '1700000000000',
      },
    });
  });

  it('keys an anonymous request by its connection', () => {
    expect(requestRecord({ ...request, userId: null }, 'corr-1', 'replies').key).toBe('c1');
  });
});

describe('headerCorrelationId', () => {
  it('reads a Buffer, a string or the first of a repeated header', () => {
    expect(headerCorrelationId({ 'correlation-id': Buffer.from('a') })).toBe('a');
    expect(headerCorrelationId({ 'correlation-id': 'b' })).toBe('b');
    expect(headerCorrelationId({ 'correlation-id': [Buffer.from('c'), 'd'] })).toBe('c');
    expect(headerCorrelationId({ other: 'x' })).toBeUndefined();
    expect(headerCorrelationId(undefined)).toBeUndefined();
  });
});

describe('readReply', () => {
  const read = (value: unknown) => readReply(Buffer.from(JSON.stringify(value)));

  it('reads a result, a missing result as null, and a correlation id in the value', () => {
    expect(read({ ok: true, result: { orderId: 7 } })).toEqual({
      answer: { ok: true, result: { orderId: 7 } },
    });
    expect(read({ ok: true })).toEqual({ answer: { ok: true, result: null } });
    expect(read({ correlationId: 'x', ok: true, result: 1 })).toEqual({
      answer: { ok: true, result: 1 },
      correlationId: 'x',
    });
  });

  it('reads a refusal as the backend sent it; a missing message is the code', () => {
    expect(read({ ok: false, error: { code: 'INSUFFICIENT_FUNDS', message: 'no' } })).toEqual({
      answer: { ok: false, error: { code: 'INSUFFICIENT_FUNDS', message: 'no' } },
    });
    expect(read({ ok: false, error: { code: 'X' } })).toEqual({
      answer: { ok: false, error: { code: 'X', message: 'X' } },
    });
  });

  it('names what is wrong with a malformed reply', () => {
    expect(readReply(null)).toEqual({ malformed: 'no value' });
    expect(readReply(Buffer.alloc(0))).toEqual({ malformed: 'no value' });
    expect(readReply(Buffer.from('{nope'))).toEqual({ malformed: 'value is not JSON' });
    expect(read([1])).toEqual({ malformed: 'value is not a JSON object' });
    expect(read('text')).toEqual({ malformed: 'value is not a JSON object' });
    expect(read({ correlationId: 5, ok: true })).toEqual({
      malformed: 'correlationId is not a string',
    });
    expect(read({ ok: 'yes' })).toEqual({ malformed: 'ok is neither true nor false' });
    expect(read({ result: 1 })).toEqual({ malformed: 'ok is neither true nor false' });
    expect(read({ ok: false })).toEqual({ malformed: 'error has no string code' });
    expect(read({ ok: false, error: { code: '' } })).toEqual({
      malformed: 'error has no string code',
    });
    expect(read({ ok: false, error: 'boom' })).toEqual({ malformed: 'error has no string code' });
  });

  it('names the correlation id of a malformed reply of the value-field variant', () => {
    expect(read({ correlationId: 'x', ok: false, error: {} })).toEqual({
      malformed: 'error has no string code',
      correlationId: 'x',
    });
    expect(read({ correlationId: 'y', ok: 1 })).toEqual({
      malformed: 'ok is neither true nor false',
      correlationId: 'y',
    });
  });
});
