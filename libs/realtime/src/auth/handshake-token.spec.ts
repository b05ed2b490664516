import { describe, expect, it } from '@jest/globals';
import { forgetHandshakeToken, handshakeToken, withoutTokenParameter } from './handshake-token.js';

const handshake = (auth: object, query: object, headers: object, url = '/socket.io/?EIO=4') =>
  ({ auth, query, headers, url }) as Parameters<typeof forgetHandshakeToken>[0];

describe('handshakeToken', () => {
  it('takes auth.token first, then ?token=, then Authorization: Bearer', () => {
    expect(
      handshakeToken(handshake({ token: 'a' }, { token: 'q' }, { authorization: 'Bearer h' })),
    ).toBe('a');
    expect(handshakeToken(handshake({}, { token: 'q' }, { authorization: 'Bearer h' }))).toBe('q');
    expect(handshakeToken(handshake({}, {}, { authorization: 'bearer   h ' }))).toBe('h');
  });

  it('is undefined when nothing was presented', () => {
    expect(handshakeToken(handshake({}, {}, {}))).toBeUndefined();
    expect(
      handshakeToken(handshake({ token: '' }, { token: '' }, { authorization: '' })),
    ).toBeUndefined();
  });

  it('hands over anything else presented, to be refused', () => {
    expect(handshakeToken(handshake({ token: 42 }, {}, {}))).toBe(42);
    expect(handshakeToken(handshake({}, {}, { authorization: 'Basic dXNlcjpwYXNz' }))).toBe(
      'Basic dXNlcjpwYXNz',
    );
  });

  it('forgets a token in each place it may have come from, and nothing else', () => {
    const presented = handshake(
      { token: 'a', batch: true },
      { token: 'q', EIO: '4' },
      { authorization: 'Bearer h', origin: 'https://app.example' },
    );
    forgetHandshakeToken(presented);
    expect(handshakeToken(presented)).toBeUndefined();
    expect(presented).toEqual({
      auth: { token: undefined, batch: true },
      query: { token: undefined, EIO: '4' },
      headers: { authorization: undefined, origin: 'https://app.example' },
      url: '/socket.io/?EIO=4',
    });
  });

  it('forgets a query token in the request URL too', () => {
    const presented = handshake(
      {},
      { EIO: '4', token: 'q.r.s', transport: 'websocket' },
      {},
      '/socket.io/?EIO=4&token=q.r.s&transport=websocket',
    );
    forgetHandshakeToken(presented);
    expect(presented.url).toBe('/socket.io/?EIO=4&transport=websocket');
  });
});

describe('withoutTokenParameter', () => {
  it.each([
    ['/ws/json?token=a.b.c', '/ws/json'],
    ['/ws/json?token=a.b.c&batch=true', '/ws/json?batch=true'],
    ['/ws/json?batch=true&token=a.b.c', '/ws/json?batch=true'],
    ['/ws/json?token=a&token=b&batch=1', '/ws/json?batch=1'],
    ['/ws/json?tok%65n=a.b.c&batch=1', '/ws/json?batch=1'],
    ['/ws/json?token=a#part', '/ws/json#part'],
    ['/ws/json?mytoken=1&token_type=x', '/ws/json?mytoken=1&token_type=x'],
    ['/ws/json', '/ws/json'],
  ])('%s becomes %s', (url, expected) => {
    expect(withoutTokenParameter(url)).toBe(expected);
  });
});
