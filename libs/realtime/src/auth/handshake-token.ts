import type { Socket } from 'socket.io';

type Handshake = Socket['handshake'];

/**
 * The token a client presented, from `auth.token`, the `token` query parameter or an
 * `Authorization: Bearer` header, in that order; undefined when it presented none.
 * Anything presented that is not a usable string is returned as is, to be refused.
 */
export function handshakeToken(handshake: Pick<Handshake, 'auth' | 'query' | 'headers'>): unknown {
  const fromAuth = (handshake.auth as Record<string, unknown> | undefined)?.token;
  if (fromAuth !== undefined && fromAuth !== null && fromAuth !== '') return fromAuth;
  const fromQuery = handshake.query?.token;
  if (fromQuery !== undefined && fromQuery !== '') return fromQuery;
  const authorization = handshake.headers?.authorization;
  if (authorization === undefined || authorization === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? match[1] : authorization;
}

/**
 * Clears a verified token from the handshake (each place `handshakeToken` reads): the
 * connection keeps what the token said (user, roles, expiry), not the bearer credential, so
 * a heap dump of the gateway holds no usable tokens, and an idle connection does not keep a
 * JWT of several hundred bytes. The properties stay, set to undefined, so the objects keep
 * their shape. `handshake.url` still carries a token sent in the query string.
 */
export function forgetHandshakeToken(
  handshake: Pick<Handshake, 'auth' | 'query' | 'headers'>,
): void {
  const auth = handshake.auth as Record<string, unknown> | undefined;
  if (auth?.token !== undefined) auth.token = undefined;
  if (handshake.query?.token !== undefined) handshake.query.token = undefined;
  if (handshake.headers?.authorization !== undefined) handshake.headers.authorization = undefined;
}
