import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { ServerEvent } from '../events/protocol-events.js';
import { RealtimeErrorCode, RealtimeException } from '../errors/index.js';
import { reply, type Ack } from './reply.js';

/** The body of every refusal, through the ack or as an `error` event. */
export interface ErrorReply {
  ok: false;
  /** The client event that was refused, e.g. `subscribe`. */
  command: string;
  error: { code: RealtimeErrorCode; message: string };
}

export function errorReply(command: string, code: RealtimeErrorCode, message: string): ErrorReply {
  return { ok: false, command, error: { code, message } };
}

/**
 * Every failure of a client command gets its documented code, never Nest's generic
 * "Internal server error", and the connection stays open.
 */
@Catch()
export class RealtimeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeGateway');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const client = ws.getClient<Socket>();
    const command = String(ws.getPattern());
    // Handler arguments are [client, data, ack?, pattern]: the ack is the function among them.
    const ack = host.getArgs().find((arg): arg is Ack => typeof arg === 'function');
    if (exception instanceof RealtimeException) {
      reply(client, ack, ServerEvent.Error, errorReply(command, exception.code, exception.message));
      return;
    }
    this.logger.error(
      `Unexpected failure in ${command}`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    reply(
      client,
      ack,
      ServerEvent.Error,
      errorReply(command, RealtimeErrorCode.Internal, 'internal error'),
    );
  }
}
