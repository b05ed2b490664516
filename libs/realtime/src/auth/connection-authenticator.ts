import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { RealtimeException } from '../errors/realtime.exception.js';
import type { ConnectionData } from '../gateway/connection-data.js';
import { AuthFailureLog } from '../metrics/auth-failure-log.js';
import { forgetHandshakeToken, handshakeToken } from './handshake-token.js';
import { TokenVerifier } from './token-verifier.js';

/** The error a refused handshake ends with; clients see it as `connect_error` with `data`. */
export interface HandshakeRefusal extends Error {
  data: { code: string; message: string };
}

/**
 * Socket.IO middleware that decides at the door who a connection is: anonymous without a
 * token, the token's user with a valid one, refused with an invalid or expired one. It runs
 * for every handshake; Nest guards do not run on connection.
 */
@Injectable()
export class ConnectionAuthenticator {
  private readonly logger = new Logger('Auth');

  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(AuthFailureLog) private readonly failures: AuthFailureLog,
  ) {}

  /** Says once, at start-up, what the door accepts. */
  announce(): void {
    if (!this.verifier.enabled) {
      this.logger.warn(
        'No JWT key configured: serving public channels only; every token is refused',
      );
    }
  }

  readonly middleware = (socket: Socket, next: (error?: Error) => void): void => {
    const data = socket.data as ConnectionData;
    const token = handshakeToken(socket.handshake);
    if (token === undefined) {
      data.userId = null;
      data.roles = [];
      data.expiresAt = null;
      return next();
    }
    try {
      const { userId, roles, expiresAt } = this.verifier.verify(token);
      data.userId = userId;
      data.roles = roles;
      data.expiresAt = expiresAt;
      forgetHandshakeToken(socket.handshake);
      next();
    } catch (error) {
      if (!(error instanceof RealtimeException)) throw error;
      this.failures.refuse('connect', error);
      const refusal = new Error(error.message) as HandshakeRefusal;
      refusal.data = { code: error.code, message: error.message };
      next(refusal);
    }
  };
}
