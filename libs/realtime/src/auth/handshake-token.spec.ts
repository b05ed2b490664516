import { describe, expect, it } from '@jest/globals';
import { forgetHandshakeToken, handshakeToken } from './handshake-token.js';

const handshake = (auth: object, query: object, headers: object) =>
  ({ auth, query, headers }) as Parameters<typeof handshakeToken>[0];

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
    });
  });
});
