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
