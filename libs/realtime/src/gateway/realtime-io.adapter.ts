import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Socket } from 'socket.io';
import { useFastWrites, type EngineConnection } from './engine-writes.js';

type Transform = (result: unknown) => Observable<unknown>;

/** Where a connection keeps the message handlers Nest bound to it, and Nest's result mapping. */
const HANDLERS = Symbol('realtime.handlers');
const TRANSFORM = Symbol('realtime.transform');

interface BoundSocket extends Socket {
  [HANDLERS]: MessageMappingProperties[];
  [TRANSFORM]: Transform;
}

/**
 * Socket.IO adapter for many connections: the same message handling as Nest's `IoAdapter`,
 * without its per-connection RxJS pipeline (about 20 subscribers and a hundred closures for
 * every connection, measured in bench/), without the handshake's HTTP request once the
 * connection is established (Socket.IO's performance guide: about 4 KB each), and with the
 * write paths of engine-writes.ts. Each connection keeps the handlers Nest bound to it and
 * listens with one function per event name shared by all connections.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly listeners = new Map<string, (this: BoundSocket, ...args: unknown[]) => void>();

  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: Transform,
  ): void {
    const bound = socket as BoundSocket;
    bound[HANDLERS] = handlers;
    bound[TRANSFORM] = transform;
    for (const { message } of handlers) socket.on(message as string, this.listenerFor(message));
    const conn = socket.conn as unknown as EngineConnection & { request?: unknown };
    // Auth and limits read the handshake before this point; it keeps headers, query and auth.
    conn.request = null;
    useFastWrites(conn);
  }

  private listenerFor(message: string): (this: BoundSocket, ...args: unknown[]) => void {
    let listener = this.listeners.get(message);
    if (!listener) {
      const dispatch = this.dispatch;
      // A function, not an arrow: the emitter calls it with the connection as `this`.
      listener = function (this: BoundSocket, ...args: unknown[]): void {
        dispatch(this, message, args);
      };
      this.listeners.set(message, listener);
    }
    return listener;
  }

  private readonly dispatch = (socket: BoundSocket, message: string, args: unknown[]): void => {
    const handler = socket[HANDLERS].find((candidate) => candidate.message === message);
    if (!handler) return;
    const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args);
    let result: Observable<unknown>;
    try {
      result = socket[TRANSFORM](handler.callback(data, ack));
    } catch (error) {
      this.logger.error(error);
      return;
    }
    result.subscribe({
      next: (response) => {
        if (response === undefined || response === null) return;
        const event = (response as { event?: string; data?: unknown }).event;
        if (event) socket.emit(event, (response as { data?: unknown }).data);
        else if (!handler.isAckHandledManually && typeof ack === 'function') ack(response);
      },
      error: (error: unknown) => this.logger.error(error),
    });
  };
}
