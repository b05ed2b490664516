// Faster write paths for Engine.IO connections. They reach into Engine.IO's WebSocket
// transport and `ws` (`_sender`, `_socket`); where those are missing, the usual path runs.

export interface TcpStream {
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
export interface EngineConnection {
  readyState: string;
  transport: EngineTransport;
  writeBuffer: unknown[];
  write(data: unknown, options?: { wsPreEncodedFrame?: unknown }, callback?: () => void): unknown;
  /** Sends what is queued, if the transport is writable. */
  flush(): void;
  close(): unknown;
  once(event: 'upgrade', listener: (transport: EngineTransport) => void): unknown;
}

/** Socket.IO's CONNECT packet starts with this character ('0'): a join answered. */
const CONNECT = 0x30;
/** Socket.IO's CONNECT_ERROR packet starts with this character ('4'): a refused connect. */
const CONNECT_ERROR = 0x34;

/**
 * Engine.IO's own write, except:
 * - a refused connect ends the connection: a namespace refusal (limits, token, a namespace
 *   not served) is the last packet it gets, so a client turned away at the door holds no
 *   connection. The close waits for the refusal to be sent.
 * - a join's answer waits for the end of this tick, so what the gateway sends a new
 *   connection in the same turn (`connected`) leaves with it in one system call instead of
 *   one call each (Engine.IO writes a packet at once and queues the rest until that write's
 *   callback). Measured with `--cpu-prof` on the harness's `idle` scenario.
 */
function writeQueued(
  this: EngineConnection,
  data: unknown,
  options?: { wsPreEncodedFrame?: unknown },
  callback?: () => void,
): unknown {
  const first = typeof data === 'string' ? data.charCodeAt(0) : -1;
  const transport = this.transport;
  const joining = first === CONNECT && transport.name === 'websocket' && transport.writable;
  // Not writable, Engine.IO queues the packet (and those after it) instead of sending it.
  if (joining) transport.writable = false;
  const result = (Object.getPrototypeOf(this) as EngineConnection).write.call(
    this,
    data,
    options,
    callback,
  );
  if (joining) process.nextTick(sendJoined, this, transport);
  else if (first === CONNECT_ERROR) process.nextTick(closeRefused, this);
  return result;
}

function sendJoined(conn: EngineConnection, transport: EngineTransport): void {
  if (conn.transport !== transport || transport.writable) return;
  transport.writable = true;
  if (conn.readyState === 'open') conn.flush();
}

function closeRefused(conn: EngineConnection): void {
  conn.close();
}

/** From a connection's first packet: a refused connect closes it (see `writeQueued`). */
export function endRefusedConnections(conn: EngineConnection): void {
  conn.write = writeQueued;
}

/** Connections written to during this turn of the event loop, held until its end. */
const heldThisTurn: TcpStream[] = [];

function releaseHeld(): void {
  for (const stream of heldThisTurn) stream.uncork();
  heldThisTurn.length = 0;
}

/**
 * Holds a connection's writes until the end of this turn of the event loop, so all it is
 * sent in one turn leaves in one system call.
 */
export function holdUntilTurnEnds(stream: TcpStream): void {
  if (stream.writableCorked !== 0) return;
  stream.cork();
  if (heldThisTurn.push(stream) === 1) process.nextTick(releaseHeld);
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
    return writeQueued.call(this, data, options, callback);
  }
  holdUntilTurnEnds(stream);
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
 * Gives a connection the write paths above: room broadcasts written straight to the
 * WebSocket, and queued packets written together (after an upgrade from long-polling too).
 */
export function useFastWrites(conn: EngineConnection): void {
  conn.write = writeDirect;
  if (conn.transport.name === 'websocket') coalesceWrites(conn.transport);
  else conn.once('upgrade', coalesceWrites);
}
