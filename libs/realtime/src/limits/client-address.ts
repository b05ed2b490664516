import type { Socket } from 'socket.io';

/** The client's address: the socket's, or the first `X-Forwarded-For` entry behind a trusted proxy. */
export function clientAddress(handshake: Socket['handshake'], trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = handshake.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return handshake.address.replace(/^::ffff:/, '');
}
