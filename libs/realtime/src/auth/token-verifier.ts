import { Inject, Injectable } from '@nestjs/common';
import { JwtService, NotBeforeError, TokenExpiredError } from '@nestjs/jwt';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { RealtimeException } from '../errors/realtime.exception.js';
import type { ResolvedAuth } from './resolved-auth.js';

/** Who a verified token speaks for. */
export interface VerifiedToken {
  userId: string;
  roles: string[];
  /** When the connection must close, in milliseconds since the epoch (`exp` plus the clock skew); null without `exp`. */
  expiresAt: number | null;
}

/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;
const USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;

/** Verifies JWTs against the configured key, algorithms, issuer and audience. */
@Injectable()
export class TokenVerifier {
  private readonly jwt: JwtService;
  private readonly auth: ResolvedAuth | null;

  constructor(@Inject(RealtimeSettings) settings: RealtimeSettings) {
    const auth = settings.auth;
    this.auth = auth;
    this.jwt = new JwtService(auth ? { secretOrKeyProvider: () => auth.key } : {});
  }

  /** False when no key is configured: every token is then refused. */
  get enabled(): boolean {
    return this.auth !== null;
  }

  verify(token: unknown): VerifiedToken {
    const auth = this.auth;
    if (!auth)
      throw invalid('this gateway is configured without JWT verification and accepts no tokens');
    if (typeof token !== 'string' || token.length === 0)
      throw invalid('the token must be a string');
    if (token.length > MAX_TOKEN_LENGTH)
      throw invalid(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
    let claims: Record<string, unknown>;
    try {
      // Issuer and audience are checked below, not by jsonwebtoken: its messages name the
      // expected values, and a refusal must not tell a stranger what the gateway accepts.
      claims = this.jwt.verify(token, {
        algorithms: [...auth.algorithms],
        clockTolerance: auth.clockSkewSeconds,
      });
    } catch (error) {
      if (error instanceof TokenExpiredError) {
        throw new RealtimeException(RealtimeErrorCode.AuthExpired, 'the token has expired');
      }
      if (error instanceof NotBeforeError) throw invalid('the token is not valid yet');
      throw invalid(
        `the token was refused (${error instanceof Error ? error.message : 'invalid'})`,
      );
    }
    // Empty settings check nothing, as they did when jsonwebtoken checked them.
    if (auth.issuer && claims.iss !== auth.issuer)
      throw invalid('the token issuer (iss) is not accepted');
    if (auth.audience && !hasAudience(claims.aud, auth.audience))
      throw invalid('the token audience (aud) is not accepted');
    return {
      userId: userIdOf(claims),
      roles: rolesOf(claims),
      expiresAt:
        typeof claims.exp === 'number' ? (claims.exp + auth.clockSkewSeconds) * 1000 : null,
    };
  }
}

/** Whether `aud` (a string or an array of them) names one of the accepted audiences. */
function hasAudience(aud: unknown, accepted: string | readonly string[]): boolean {
  if (!Array.isArray(aud)) return isAcceptedAudience(aud, accepted);
  for (const value of aud) if (isAcceptedAudience(value, accepted)) return true;
  return false;
}

function isAcceptedAudience(value: unknown, accepted: string | readonly string[]): boolean {
  if (typeof value !== 'string') return false;
  return typeof accepted === 'string' ? value === accepted : accepted.includes(value);
}

function userIdOf(claims: Record<string, unknown>): string {
  const id = claims.sub ?? claims.userId;
  if (typeof id === 'string' && USER_ID.test(id)) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return String(id);
  throw invalid('the token has no usable user id in "sub" or "userId"');
}

function rolesOf(claims: Record<string, unknown>): string[] {
  const roles = claims.roles ?? claims.role;
  if (typeof roles === 'string') return [roles];
  return Array.isArray(roles)
    ? roles.filter((role): role is string => typeof role === 'string')
    : [];
}

function invalid(message: string): RealtimeException {
  return new RealtimeException(RealtimeErrorCode.AuthInvalid, message);
}
