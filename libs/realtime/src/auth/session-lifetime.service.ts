import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { isPlainObject } from '../events/payload-schema.js';
import { ServerEvent } from '../events/protocol-events.js';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { RealtimeException } from '../errors/realtime.exception.js';
import type { ConnectionData } from '../gateway/connection-data.js';
import { AuthFailureLog } from '../metrics/auth-failure-log.js';
import { ExpiryScheduler } from './expiry-scheduler.js';
import { TokenVerifier } from './token-verifier.js';

/** What `auth.refresh` answers on success. */
export interface RefreshedReply {
  ok: true;
  expiresAt: number | null;
}

/**
 * A signed-in connection lives as long as its token: at expiry it is told `auth.expired`
 * and closed, unless `auth.refresh` brought a newer token for the same user first.
 */
@Injectable()
export class SessionLifetime implements OnModuleDestroy {
  private readonly expiry = new ExpiryScheduler<Socket>((socket) => this.expire(socket));

  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(AuthFailureLog) private readonly failures: AuthFailureLog,
  ) {}

  begin(socket: Socket): void {
    const { expiresAt } = socket.data as ConnectionData;
    if (expiresAt !== null) this.expiry.schedule(socket, expiresAt);
  }

  end(socket: Socket): void {
    this.expiry.cancel(socket);
  }

  /**
   * Replaces the connection's token. A token for another user is refused with FORBIDDEN
   * and the connection is closed after the answer; an invalid one is refused and the
   * connection keeps its current token.
   */
  refresh(
    socket: Socket,
    body: unknown,
  ): { reply: RefreshedReply } | { forbidden: RealtimeException } {
    const data = socket.data as ConnectionData;
    if (!isPlainObject(body) || typeof body.token !== 'string' || Object.keys(body).length !== 1) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        'payload must be { token: string }',
      );
    }
    if (data.userId === null) {
      throw new RealtimeException(
        RealtimeErrorCode.AuthRequired,
        'an anonymous connection cannot refresh; reconnect with a token',
      );
    }
    let verified;
    try {
      verified = this.verifier.verify(body.token);
    } catch (error) {
      if (error instanceof RealtimeException) this.failures.refuse('refresh', error);
      throw error;
    }
    if (verified.userId !== data.userId) {
      const forbidden = new RealtimeException(
        RealtimeErrorCode.Forbidden,
        'the new token is for another user; the connection is closed',
      );
      this.failures.refuse('refresh', forbidden);
      return { forbidden };
    }
    data.roles = verified.roles;
    data.expiresAt = verified.expiresAt;
    if (verified.expiresAt === null) this.expiry.cancel(socket);
    else this.expiry.schedule(socket, verified.expiresAt);
    return { reply: { ok: true, expiresAt: verified.expiresAt } };
  }

  /** Connections waiting for their token to run out. */
  get tracked(): number {
    return this.expiry.size;
  }

  /** Whether the one shared expiry timer is armed. */
  get timerArmed(): boolean {
    return this.expiry.armed;
  }

  onModuleDestroy(): void {
    this.expiry.dispose();
  }

  private expire(socket: Socket): void {
    socket.emit(ServerEvent.AuthExpired, {
      code: RealtimeErrorCode.AuthExpired,
      expiredAt: (socket.data as ConnectionData).expiresAt,
    });
    socket.disconnect(true);
  }
}
