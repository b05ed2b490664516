import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { EngineConnection } from './engine-writes.js';

/** What a `once` listener is: Node keeps the listener it wraps on the wrapper. */
type Listener = ((...args: unknown[]) => void) & { listener?: (...args: unknown[]) => void };

interface UpgradedStream {
  rawListeners(event: 'close' | 'error'): Listener[];
  removeListener(event: 'close' | 'error', listener: Listener): unknown;
}

/**
 * Engine.IO answers each WebSocket upgrade with a stand-in response that keeps the upgrade's
 * HTTP request, and leaves a `close` listener on the TCP socket that keeps that response: the
 * whole request (headers twice over, query, streams state) lives as long as the connection,
 * though the handshake has copied what the gateway reads (measured with
 * bench/heap-per-connection.mjs). The listener only tells middlewares that watch a
 * response's end; after the upgrade nothing does, so it goes. Found by its source, so a
 * version of Engine.IO without it is left as it is.
 */
export function releaseUpgradeRequest(conn: EngineConnection): void {
  const websocket = conn.transport.socket as unknown as UpgradedStream | undefined;
  const stream = conn.transport.socket?._socket as unknown as UpgradedStream | undefined;
  if (typeof stream?.rawListeners !== 'function') return;
  for (const wrapper of stream.rawListeners('close')) {
    const listener = wrapper.listener ?? wrapper;
    if (RESPONSE_CLOSE.test(Function.prototype.toString.call(listener)))
      stream.removeListener('close', wrapper);
  }
  if (typeof websocket?.rawListeners === 'function') dropUpgradeErrorListener(websocket);
}

/**
 * Engine.IO listens for the WebSocket's errors until its transport takes over, and removes
 * that listener only when an upgrade from polling completes: a connection opened on
 * WebSocket keeps it (a closure and a listener array: about 165 B). It is dropped only when
 * another listener (the transport's) is there to take the errors.
 */
function dropUpgradeErrorListener(websocket: UpgradedStream): void {
  const listeners = websocket.rawListeners('error');
  if (listeners.length < 2) return;
  for (const listener of listeners)
    if (listener.name === UPGRADE_ERROR) websocket.removeListener('error', listener);
}

/** Engine.IO's `onUpgradeError` in `Server.onWebSocket`. */
const UPGRADE_ERROR = 'onUpgradeError';

/** Engine.IO's `socket.once("close", () => this.emit("close"))` in WebSocketResponse. */
const RESPONSE_CLOSE = /^\(\)\s*=>\s*this\.emit\("close"\)$/;

/**
 * Holds a WebSocket upgrade's writes until the end of this tick, so the `101` response and
 * Engine.IO's `open` packet, written one after the other in the same synchronous path, leave
 * in one system call instead of two (on loopback a write costs about 50 µs: measured with
 * `--cpu-prof` on the harness's `idle` scenario). A polling request is left as it is.
 */
export function coalesceUpgradeWrites(request: IncomingMessage): void {
  if (request.headers.upgrade === undefined) return;
  const socket = request.socket;
  socket.cork();
  process.nextTick(uncork, socket);
}

function uncork(socket: Socket): void {
  socket.uncork();
}
