import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Socket } from 'socket.io';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { ServerEvent } from '../events/protocol-events.js';
import { useFastWrites, type EngineConnection } from './engine-writes.js';
import { JSON_TRANSPORT } from '../json-endpoint/json-frames.js';
import { compactConnection, compactListenersOf } from './connection-compaction.js';
import { errorReply } from './realtime-exception.filter.js';
import { releaseUpgradeRequest } from './upgrade-request.js';

type Transform = (result: unknown) => Observable<unknown>;

/**
 * Where a connection keeps the message handlers Nest bound to it (their callbacks, in the
 * order of its layout) and the layout.
 */
const HANDLERS = Symbol('realtime.handlers');
const LAYOUT = Symbol('realtime.layout');

type HandlerCallback = MessageMappingProperties['callback'];

/**
 * What the handler lists of a gateway's connections share: the index of each message's
 * callback and whether its handler answers its own ack. Shared by every connection of that
 * list, so a connection keeps only its bound callbacks (Nest's handler records cost about
 * 260 B a connection, measured with bench/heap-per-connection.mjs).
 */
interface HandlerLayout {
  readonly index: ReadonlyMap<string, number>;
  readonly ackHandledManually: readonly boolean[];
  /**
   * Nest's result mapping. Nest makes one for each connection, but it depends only on Nest's
   * WebSocketsController, one for the whole app: the first connection's serves them all.
   */
  readonly transform: Transform;
}

/** Whether one of the connection's commands is being handled, and those that arrived meanwhile. */
const RUNNING = Symbol('realtime.running');
const WAITING = Symbol('realtime.waiting');

/**
 * Commands a connection may have waiting behind one being handled. The message rate limit
 * keeps the queue far below this; the cap only stops a handler that never settles from
 * holding an ever-growing queue.
 */
export const MAX_WAITING_COMMANDS = 256;

interface OrderedSocket extends Socket {
  [RUNNING]?: boolean;
  [WAITING]?: Array<() => unknown>;
}

interface BoundSocket extends OrderedSocket {
  [HANDLERS]: HandlerCallback[];
  [LAYOUT]: HandlerLayout;
}

/**
 * Handles a connection's command once the commands that arrived before it are answered, so
 * answers leave in the order commands came, with an ack or without. Nest handlers settle at
 * different depths (a refusal travels Nest's exception path, several turns behind a success
 * answered in the handler): running them one at a time is what keeps the order. `command`
 * returns what it waits for, if anything. A command waiting past `MAX_WAITING_COMMANDS` is
 * refused (`RATE_LIMITED`).
 */
export function inArrivalOrder(
  socket: Socket,
  name: string,
  ack: unknown,
  command: () => unknown,
): void {
  const ordered = socket as OrderedSocket;
  if (!ordered[RUNNING]) return start(ordered, command);
  const waiting = (ordered[WAITING] ??= []);
  if (waiting.length < MAX_WAITING_COMMANDS) {
    waiting.push(command);
    return;
  }
  const answer = errorReply(
    name.slice(0, 64),
    RealtimeErrorCode.RateLimited,
    `more than ${MAX_WAITING_COMMANDS} commands waiting for an answer; this one was dropped`,
  );
  if (typeof ack === 'function') (ack as (body: unknown) => void)(answer);
  else socket.emit(ServerEvent.Error, answer);
}

function start(socket: OrderedSocket, command: () => unknown): void {
  socket[RUNNING] = true;
  let outcome: unknown;
  try {
    outcome = command();
  } finally {
    afterCommand(socket, outcome);
  }
}

/** Starts the next waiting command once `outcome` (the running one's) settled. */
function afterCommand(socket: OrderedSocket, outcome: unknown): void {
  if (isPromiseLike(outcome)) {
    const next = (): void => startNext(socket);
    outcome.then(next, next);
  } else {
    startNext(socket);
  }
}

function startNext(socket: OrderedSocket): void {
  socket[RUNNING] = false;
  const command = socket[WAITING]?.shift();
  if (!command) return;
  // A command that waited past the disconnect would join rooms nobody leaves.
  if (!socket.connected) {
    socket[WAITING] = undefined;
    return;
  }
  start(socket, command);
}

/** Whether a handler list has a layout's messages in its order, each acked the same way. */
function fits(layout: HandlerLayout, handlers: MessageMappingProperties[]): boolean {
  if (layout.index.size !== handlers.length) return false;
  for (let i = 0; i < handlers.length; i++) {
    const { message, isAckHandledManually } = handlers[i]!;
    if (layout.index.get(String(message)) !== i) return false;
    if (layout.ackHandledManually[i] !== !!isAckHandledManually) return false;
  }
  return true;
}

function callbackOf({ callback }: MessageMappingProperties): HandlerCallback {
  return callback;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
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
  /** One layout per gateway's handler list (a connection finds its own without allocating). */
  private readonly layouts: HandlerLayout[] = [];

  /**
   * Socket.IO emits `disconnect` once per connection, so a plain listener does: without
   * `once`'s wrapper and the arrow Nest's adapter puts around the callback (about 250 B a
   * connection, bench/heap-per-connection.mjs). Nest binds it last, after the gateway's
   * `handleConnection` and the message handlers: the connection's listeners are all in
   * place, so their stores are compacted here.
   */
  override bindClientDisconnect(client: Socket, callback: (reason: unknown) => void): void {
    client.on('disconnect', callback);
    compactConnection(client);
  }

  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: Transform,
  ): void {
    const bound = socket as BoundSocket;
    bound[LAYOUT] = this.layoutOf(handlers, transform);
    bound[HANDLERS] = handlers.map(callbackOf);
    for (const { message } of handlers) socket.on(message as string, this.listenerFor(message));
    const conn = socket.conn as unknown as EngineConnection & { request?: unknown };
    // Auth and limits read the handshake before this point; it keeps headers, query and auth.
    conn.request = null;
    // A plain-WebSocket connection writes its own frames (json-endpoint/).
    if (conn.transport.name === JSON_TRANSPORT) return;
    useFastWrites(conn);
    if (conn.transport.name === 'websocket') releaseUpgradeRequest(conn);
    else
      conn.once('upgrade', () => {
        releaseUpgradeRequest(conn);
        compactListenersOf(socket);
      });
  }

  private layoutOf(handlers: MessageMappingProperties[], transform: Transform): HandlerLayout {
    for (const layout of this.layouts) if (fits(layout, handlers)) return layout;
    const layout: HandlerLayout = {
      index: new Map(handlers.map(({ message }, i) => [String(message), i])),
      ackHandledManually: handlers.map(({ isAckHandledManually }) => !!isAckHandledManually),
      transform,
    };
    this.layouts.push(layout);
    return layout;
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
    const handler = socket[LAYOUT].index.get(message);
    if (handler === undefined) return;
    const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args);
    if (socket[RUNNING]) {
      inArrivalOrder(socket, message, ack, () => this.handle(socket, handler, data, ack));
      return;
    }
    // First in line, the common case: the same path as a waiting command, without a closure.
    socket[RUNNING] = true;
    let pending: unknown;
    try {
      pending = this.handle(socket, handler, data, ack);
    } finally {
      afterCommand(socket, pending);
    }
  };

  /** Runs one command through Nest; returns Nest's promise of the handler's outcome. */
  private handle(socket: BoundSocket, handler: number, data: unknown, ack: unknown): unknown {
    let pending: unknown;
    let result: Observable<unknown>;
    try {
      pending = socket[HANDLERS][handler]!(data, ack);
      result = socket[LAYOUT].transform(pending);
    } catch (error) {
      this.logger.error(error);
      return pending;
    }
    result.subscribe({
      next: (response) => {
        if (response === undefined || response === null) return;
        const event = (response as { event?: string; data?: unknown }).event;
        if (event) socket.emit(event, (response as { data?: unknown }).data);
        else if (!socket[LAYOUT].ackHandledManually[handler] && typeof ack === 'function')
          ack(response);
      },
      error: (error: unknown) => this.logger.error(error),
    });
    return pending;
  }
}
