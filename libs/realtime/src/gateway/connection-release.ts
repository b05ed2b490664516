import type { Socket } from 'socket.io';

/**
 * How long a connection the server closes may take to finish closing by itself (its last
 * frames read, the WebSocket closing handshake answered) before its TCP socket is cut.
 * Enough for a client that reads; a client that does not would otherwise hold the socket
 * and everything queued for it until Engine.IO's ping timeout and `ws`'s 30 s close timer.
 */
export const CLOSE_GRACE_MS = 500;

/** The parts of a TCP (or TLS) socket the cut touches. */
interface NetStream {
  destroyed: boolean;
  encrypted?: boolean;
  destroy(): void;
  resetAndDestroy?(): void;
}

/** The parts of an Engine.IO connection the release touches. */
export interface ClosingConnection {
  readyState: string;
  transport: { socket?: { readyState?: number; _socket?: NetStream }; onClose?(): void };
  close(discard?: boolean): unknown;
  on(event: 'close', listener: (this: ClosingConnection) => void): unknown;
}

/** What the server tells a client before closing it. */
export interface CloseNotice {
  event: string;
  payload: unknown;
}

/** Marks a connection whose release is already due, so it is scheduled once. */
const RELEASE_DUE = Symbol('realtime.releaseDue');
type Releasable = ClosingConnection & { [RELEASE_DUE]?: true };

/** `ws`'s `readyState` once its socket is gone. */
const WS_CLOSED = 3;

/**
 * Closes a connection for cause (a limit, a deadline, a refused token, a drain): the notice
 * and Socket.IO's disconnect are sent as best they can be, the connection leaves every room
 * and count at once, and its TCP socket and buffers are let go within `CLOSE_GRACE_MS`
 * whether or not the client reads them.
 */
export function closeForCause(socket: Socket, notice?: CloseNotice): void {
  if (notice) socket.emit(notice.event, notice.payload);
  socket.disconnect(true);
  releaseWithinGrace(socket.conn as unknown as ClosingConnection);
}

/**
 * Bounds every close of an Engine.IO connection, whoever asks for it: Socket.IO (a
 * malformed packet, the connect timeout, `disconnect(true)`), `ws` (a frame over the size
 * limit) or Engine.IO (a ping timeout). Once closing, the connection has `CLOSE_GRACE_MS`
 * before its socket is cut. Shared functions: nothing is allocated per connection.
 */
export function boundCloses(conn: ClosingConnection): void {
  conn.close = closeBounded;
  conn.on('close', releaseIfHeld);
}

function closeBounded(this: ClosingConnection, discard?: boolean): unknown {
  const result = (Object.getPrototypeOf(this) as ClosingConnection).close.call(this, discard);
  releaseWithinGrace(this);
  return result;
}

/** Closed by Engine.IO, the WebSocket may still wait for the client's half of the handshake. */
function releaseIfHeld(this: ClosingConnection): void {
  releaseWithinGrace(this);
}

function releaseWithinGrace(conn: Releasable): void {
  if (conn[RELEASE_DUE] || !holdsSocket(conn)) return;
  conn[RELEASE_DUE] = true;
  setTimeout(release, CLOSE_GRACE_MS, conn).unref();
}

/** Whether the connection is still open or its WebSocket still has its TCP socket. */
function holdsSocket(conn: ClosingConnection): boolean {
  const ws = conn.transport.socket;
  return conn.readyState !== 'closed' || (ws !== undefined && ws.readyState !== WS_CLOSED);
}

/** Closes the connection now, whatever is still queued, and cuts its TCP socket. */
function release(conn: ClosingConnection): void {
  // Discarding closes at once: Engine.IO stops waiting for its queue to drain.
  if (conn.readyState !== 'closed') {
    (Object.getPrototypeOf(conn) as ClosingConnection).close.call(conn, true);
  }
  // Long-polling whose close was already under way waits for the client's next request.
  if (conn.readyState !== 'closed') conn.transport.onClose?.();
  const stream = conn.transport.socket?._socket;
  if (!stream || stream.destroyed) return;
  // A reset also frees what the kernel still holds for a peer that does not read; a TLS
  // socket has no TCP handle to reset and is destroyed.
  if (stream.encrypted || typeof stream.resetAndDestroy !== 'function') stream.destroy();
  else stream.resetAndDestroy();
}
