import { unescape } from 'node:querystring';
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

/** Whether a query string's `name=value` pair is `token`'s, its name decoded as a query parser would. */
function isTokenParameter(pair: string): boolean {
  const equals = pair.indexOf('=');
  const name = equals === -1 ? pair : pair.slice(0, equals);
  return unescape(name.replaceAll('+', ' ')) === 'token';
}

/** The URL without its `token` query parameters (and without a `?` left with nothing after it). */
export function withoutTokenParameter(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const fragment = url.indexOf('#', start);
  const end = fragment === -1 ? url.length : fragment;
  const kept = url
    .slice(start + 1, end)
    .split('&')
    .filter((pair) => !isTokenParameter(pair));
  return `${url.slice(0, start)}${kept.length > 0 ? `?${kept.join('&')}` : ''}${url.slice(end)}`;
}

/**
 * Clears a verified token from the handshake (each place `handshakeToken` reads, and the
 * request URL, which carries a token sent in the query string): the connection keeps what
 * the token said (user, roles, expiry), not the bearer credential, so a heap dump of the
 * gateway holds no usable tokens, and an idle connection does not keep a JWT of several
 * hundred bytes. The properties stay, set to undefined, so the objects keep their shape.
 */
export function forgetHandshakeToken(
  handshake: Pick<Handshake, 'auth' | 'query' | 'headers' | 'url'>,
): void {
  const auth = handshake.auth as Record<string, unknown> | undefined;
  if (auth?.token !== undefined) auth.token = undefined;
  if (handshake.query?.token !== undefined) {
    handshake.query.token = undefined;
    if (typeof handshake.url === 'string') handshake.url = withoutTokenParameter(handshake.url);
  }
  if (handshake.headers?.authorization !== undefined) handshake.headers.authorization = undefined;
}
