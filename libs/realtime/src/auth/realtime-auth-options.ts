/** JWT algorithms the gateway can be configured to accept; `none` is not among them. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface RealtimeAuthOptions {
  /** Shared secret of HS256 / HS384 / HS512 tokens. Set this or `publicKey`, not both. */
  secret?: string;
  /** PEM public key of RS*, PS* or ES* tokens. Set this or `secret`, not both. */
  publicKey?: string;
  /**
   * Algorithms accepted. Default: HS256 with a secret; RS256 with an RSA key; ES256, ES384
   * or ES512 with an EC key, by its curve. Must match the key's kind.
   */
  algorithms?: JwtAlgorithm[];
  /** When set, tokens must carry this `iss`. */
  issuer?: string;
  /** When set, tokens must carry one of these in `aud`. */
  audience?: string | string[];
  /** Clock difference tolerated on `exp` and `nbf`, in seconds. Default 5. */
  clockSkewSeconds?: number;
}
