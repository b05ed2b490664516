import jwt from 'jsonwebtoken';

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An HS256 token for `sub`, valid for `ttlSeconds`, with extra claims. */
export function hsToken(
  sub: unknown,
  options: { ttlSeconds?: number; secret?: string; claims?: object } = {},
): string {
  const { ttlSeconds = 300, secret = TEST_SECRET, claims = {} } = options;
  const payload: Record<string, unknown> = { exp: nowSeconds() + ttlSeconds, ...claims };
  if (sub !== undefined) payload.sub = sub;
  return jwt.sign(payload, secret, { algorithm: 'HS256' });
}

/** A token with `alg: none` and no signature. */
export function unsignedToken(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: nowSeconds() + 300, ...claims })}.`;
}

export { jwt };
