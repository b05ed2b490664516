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
  /** A refused subscription's fields as the client sent them (`channel`, `symbol`, ...). */
  [echoed: string]: unknown;
  error: { code: RealtimeErrorCode; message: string };
}

export function errorReply(
  command: string,
  code: RealtimeErrorCode,
  message: string,
  echo?: Readonly<Record<string, string | number>>,
): ErrorReply {
  return echo
    ? { ok: false, command, ...echo, error: { code, message } }
    : { ok: false, command, error: { code, message } };
}

const logger = new Logger('RealtimeGateway');

/**
 * Answers a failed command with its documented code, never Nest's generic "Internal server
 * error"; `echo` names what was refused. The connection stays open.
 */
export function answerFailure(
  client: Socket,
  ack: Ack | undefined,
  command: string,
  exception: unknown,
  echo?: Readonly<Record<string, string | number>>,
): void {
  if (exception instanceof RealtimeException) {
    reply(
      client,
      ack,
      ServerEvent.Error,
      errorReply(command, exception.code, exception.message, echo),
    );
    return;
  }
  logger.error(
    `Unexpected failure in ${command}`,
    exception instanceof Error ? exception.stack : String(exception),
  );
  reply(
    client,
    ack,
    ServerEvent.Error,
    errorReply(command, RealtimeErrorCode.Internal, 'internal error', echo),
  );
}

/** What a command handler did not answer itself goes through Nest's filter path to here. */
@Catch()
export class RealtimeExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    // Handler arguments are [client, data, ack?, pattern]: the ack is the function among them.
    const ack = host.getArgs().find((arg): arg is Ack => typeof arg === 'function');
    answerFailure(ws.getClient<Socket>(), ack, String(ws.getPattern()), exception);
  }
}
