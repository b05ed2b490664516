import { describe, expect, it } from '@jest/globals';
import { RealtimeException } from '../errors/realtime.exception.js';
import { echoRequest, readRequestCommand } from './request-command.js';

describe('readRequestCommand', () => {
  it('reads method, params and requestId, params defaulting to an empty object', () => {
    expect(
      readRequestCommand({ method: 'order.place', params: { a: 1 }, requestId: 'r:1' }),
    ).toEqual({
      method: 'order.place',
      params: { a: 1 },
      requestId: 'r:1',
    });
    expect(readRequestCommand({ method: 'ping.me', params: null })).toEqual({
      method: 'ping.me',
      params: {},
      requestId: undefined,
    });
  });

  it.each([
    [null, /must be an object/],
    [['order.place'], /must be an object/],
    [{}, /method must be/],
    [{ method: '' }, /method must be/],
    [{ method: 'x'.repeat(65) }, /method must be/],
    [{ method: 'a', params: 'x' }, /params must be an object/],
    [{ method: 'a', params: [1] }, /params must be an object/],
    [{ method: 'a', requestId: 7 }, /requestId must be/],
    [{ method: 'a', requestId: '' }, /requestId must be/],
    [{ method: 'a', requestId: 'x'.repeat(65) }, /requestId must be/],
    [{ method: 'a', requestId: 'has space' }, /requestId must be/],
  ])('refuses %j with INVALID_PAYLOAD', (body, message) => {
    let thrown: unknown;
    try {
      readRequestCommand(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RealtimeException);
    expect((thrown as RealtimeException).code).toBe('INVALID_PAYLOAD');
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('echoRequest', () => {
  it('echoes only a method and id that are safe to send back', () => {
    expect(echoRequest({ method: 'order.place', requestId: 'r-1' })).toEqual({
      method: 'order.place',
      requestId: 'r-1',
    });
    expect(echoRequest({ method: '<script>', requestId: 'a b' })).toEqual({});
    expect(echoRequest('order.place')).toEqual({});
  });
});
