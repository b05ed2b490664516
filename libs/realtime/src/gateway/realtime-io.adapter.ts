import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Socket } from 'socket.io';

type Transform = (result: unknown) => Observable<unknown>;

/** Where a connection keeps the message handlers Nest bound to it, and Nest's result mapping. */
const HANDLERS = Symbol('realtime.handlers');
const TRANSFORM = Symbol('realtime.transform');

interface BoundSocket extends Socket {
  [HANDLERS]: MessageMappingProperties[];
  [TRANSFORM]: Transform;
}

interface TcpStream {
  writableCorked: number;
  cork(): void;
  uncork(): void;
}

/** The parts of Engine.IO's WebSocket transport that the write paths below touch. */
interface EngineTransport {
  name: string;
  writable: boolean;
  perMessageDeflate?: unknown;
  send(packets: unknown[]): void;
  socket?: {
    _socket?: TcpStream;
    _sender?: { sendFrame(frame: unknown, callback?: () => void): void };
  };
}

/** The parts of an Engine.IO connection that the write paths below touch. */
interface EngineConnection {
  readyState: string;
  transport: EngineTransport;
  writeBuffer: unknown[];
  write(data: unknown, options?: { wsPreEncodedFrame?: unknown }, callback?: () => void): unknown;
}

/** Connections written to during this turn of the event loop, held until its end. */
const heldThisTurn: TcpStream[] = [];

function releaseHeld(): void {
  for (const stream of heldThisTurn) stream.uncork();
  heldThisTurn.length = 0;
}

/**
 * A room broadcast hands every member the same pre-built WebSocket frame. When nothing is
 * queued ahead of it, this writes that frame straight to the connection, as a bare `ws`
 * server would, instead of through Engine.IO's per-packet queue, events and callbacks; and
 * it holds the connection's writes until the end of the turn, so all a connection is sent in
 * one turn leaves in one system call. Anything else, or with something queued, takes the
 * usual path behind it, so order is kept. Shared by all connections (`this` is the Engine.IO
 * connection).
 */
function writeDirect(
  this: EngineConnection,
  data: unknown,
  options?: { wsPreEncodedFrame?: unknown },
  callback?: () => void,
): unknown {
  const frame = options?.wsPreEncodedFrame;
  const transport = this.transport;
  const sender = transport.socket?._sender;
  const stream = transport.socket?._socket;
  if (
    frame === undefined ||
    callback !== undefined ||
    !sender ||
    !stream ||
    this.readyState !== 'open' ||
    !transport.writable ||
    this.writeBuffer.length > 0 ||
    transport.perMessageDeflate
  ) {
    return (Object.getPrototypeOf(this) as EngineConnection).write.call(
      this,
      data,
      options,
      callback,
    );
  }
  if (stream.writableCorked === 0) {
    stream.cork();
    if (heldThisTurn.push(stream) === 1) process.nextTick(releaseHeld);
  }
  sender.sendFrame(frame);
  return this;
}

/**
 * Engine.IO's WebSocket transport writes every queued packet with its own `write`, one system
 * call each. This sends the packets queued together (what piled up while the previous write
 * was under way: a burst) in one `writev`; one packet goes out as before. Shared by all
 * connections (`this` is the transport).
 */
function sendCoalesced(this: EngineTransport, packets: unknown[]): void {
  const send = (Object.getPrototypeOf(this) as EngineTransport).send;
  const stream = this.socket?._socket;
  if (packets.length < 2 || !stream) return send.call(this, packets);
  stream.cork();
  try {
    send.call(this, packets);
  } finally {
    stream.uncork();
  }
}

function coalesceWrites(transport: EngineTransport): void {
  if (transport.name === 'websocket') transport.send = sendCoalesced;
}

/**
 * Socket.IO adapter for many connections: the same message handling as Nest's `IoAdapter`,
 * without its per-connection RxJS pipeline (about 20 subscribers and a hundred closures for
 * every connection, measured in bench/), and without the handshake's HTTP request once the
 * connection is established (Socket.IO's performance guide: about 4 KB each), and with the
 * frames queued for a connection during a burst written in one system call. Each connection
 * keeps the handlers Nest bound to it and listens with one function per event name shared by
 * all connections.
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
    const conn = socket.conn as unknown as EngineConnection & {
      request?: unknown;
      once(event: 'upgrade', listener: (transport: EngineTransport) => void): void;
    };
    // Auth and limits read the handshake before this point; it keeps headers, query and auth.
    conn.request = null;
    conn.write = writeDirect;
    if (conn.transport.name === 'websocket') coalesceWrites(conn.transport);
    else conn.once('upgrade', coalesceWrites);
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
