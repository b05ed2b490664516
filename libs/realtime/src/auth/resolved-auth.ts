import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import {
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  type RealtimeAuthOptions,
} from './realtime-auth-options.js';

/** Token verification settings, checked once at start-up. */
export interface ResolvedAuth {
  /**
   * The secret or public key, made once: given a string, jsonwebtoken tries it as a PEM public
   * key first and, for a secret, fails and starts again on every token (a fifth of the time of
   * a connection storm, measured in bench/).
   */
  readonly key: KeyObject;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly issuer?: string;
  readonly audience?: string | string[];
  readonly clockSkewSeconds: number;
}

const EC_ALGORITHM_BY_CURVE: Record<string, JwtAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/** null when no key is configured: the gateway then serves public channels only. */
export function resolveAuth(options: RealtimeAuthOptions | undefined): ResolvedAuth | null {
  if (!options || (options.secret === undefined && options.publicKey === undefined)) {
    if (options?.algorithms?.length) {
      throw new RealtimeOptionsError('auth.algorithms', 'needs auth.secret or auth.publicKey');
    }
    return null;
  }
  if (options.secret !== undefined && options.publicKey !== undefined) {
    throw new RealtimeOptionsError('auth.secret', 'and auth.publicKey are exclusive: set one');
  }
  const clockSkewSeconds = options.clockSkewSeconds ?? 5;
  if (!Number.isFinite(clockSkewSeconds) || clockSkewSeconds < 0 || clockSkewSeconds > 300) {
    throw new RealtimeOptionsError(
      'auth.clockSkewSeconds',
      `must be 0 to 300, got ${clockSkewSeconds}`,
    );
  }
  for (const algorithm of options.algorithms ?? []) {
    if (!(JWT_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new RealtimeOptionsError(
        'auth.algorithms',
        `has "${algorithm}"; allowed: ${JWT_ALGORITHMS.join(', ')}`,
      );
    }
  }
  const common = { issuer: options.issuer, audience: options.audience, clockSkewSeconds };
  if (options.secret !== undefined) {
    if (options.secret.length < 32) {
      throw new RealtimeOptionsError('auth.secret', 'must be at least 32 characters');
    }
    const algorithms = options.algorithms?.length ? options.algorithms : ['HS256' as const];
    if (algorithms.some((algorithm) => !algorithm.startsWith('HS'))) {
      throw new RealtimeOptionsError(
        'auth.algorithms',
        'must be HS256, HS384 or HS512 with a secret',
      );
    }
    return { key: createSecretKey(Buffer.from(options.secret)), algorithms, ...common };
  }
  const publicKey = options.publicKey!;
  let key: KeyObject;
  try {
    key = createPublicKey(publicKey);
  } catch {
    throw new RealtimeOptionsError('auth.publicKey', 'is not a PEM public key');
  }
  const family = key.asymmetricKeyType ?? 'unknown';
  const defaults: JwtAlgorithm[] =
    family === 'rsa'
      ? ['RS256']
      : family === 'ec'
        ? [EC_ALGORITHM_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'ES256']
        : [];
  if (defaults.length === 0) {
    throw new RealtimeOptionsError('auth.publicKey', `is a ${family} key; use an RSA or EC key`);
  }
  const algorithms = options.algorithms?.length ? options.algorithms : defaults;
  const fits = (algorithm: JwtAlgorithm) =>
    family === 'rsa' ? /^(RS|PS)/.test(algorithm) : algorithm.startsWith('ES');
  if (!algorithms.every(fits)) {
    throw new RealtimeOptionsError(
      'auth.algorithms',
      `do not fit the ${family.toUpperCase()} public key`,
    );
  }
  return { key, algorithms, ...common };
}
