import type { Socket } from 'socket.io';

type ListenerStore = Record<string | symbol, unknown>;

/** Where Node's EventEmitter (`_events`) and Socket.IO's component emitter (`_callbacks`) keep listeners. */
interface Emitter {
  _events?: ListenerStore;
  _callbacks?: ListenerStore;
}

/** The parts of a Socket.IO connection that hold listeners or grown arrays, by library. */
interface ConnectionParts {
  fns?: unknown[];
  client?: { decoder?: Emitter };
  conn?: Emitter & {
    cleanupFn?: unknown[];
    transport?: Emitter & { socket?: Emitter };
  };
}

type Handshake = Socket['handshake'];

/**
 * Request headers that only carry out the WebSocket upgrade itself: nothing reads them once
 * the connection is open.
 */
const UPGRADE_HEADERS: ReadonlySet<string> = new Set([
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
]);

/**
 * Rewrites what an idle connection keeps into compact forms, once its listeners are in place:
 * - the listener stores of Socket.IO's socket, Engine.IO's socket and transport and the `ws`
 *   WebSocket: Node's EventEmitter keeps them in a null-prototype dictionary (about 480 B for
 *   8 events; a fast-mode object of the same keys about 130 B);
 * - arrays that grew by `push` (listener lists, the socket's middlewares, Engine.IO's
 *   clean-ups, the decoder's callbacks) keep room for 17 entries: 152 B, 24 B for one exactly;
 * - `close` listeners of emitters that close once, without their `once` wrappers;
 * - the handshake (see `compactHandshake`).
 * Idle connections change none of it afterwards, so the saving lasts: 11,919 to 9,660 bytes of
 * heap a connection at 5,000 (bench/heap-per-connection.mjs, also after a heartbeat), for
 * about 30 µs of CPU a connection. A listener removed later only turns its store back into
 * a dictionary.
 */
export function compactConnection(socket: Socket): void {
  (socket as { handshake: Handshake }).handshake = compactHandshake(socket.handshake);
  compactListenersOf(socket);
}

/**
 * The listener part of `compactConnection`, for a connection whose transport changed (an
 * upgrade from long-polling): its handshake is compact already.
 */
export function compactListenersOf(socket: Socket): void {
  const parts = socket as unknown as ConnectionParts;
  if (parts.fns && parts.fns.length > 0) parts.fns = parts.fns.slice();
  const conn = parts.conn;
  if (conn?.cleanupFn && conn.cleanupFn.length > 0) conn.cleanupFn = conn.cleanupFn.slice();
  const websocket = conn?.transport?.socket;
  // The TCP socket's and the `ws` receiver's stores are Node's pre-shaped stream ones:
  // compacting them saved nothing measurable and cost 5 µs a connection.
  for (const emitter of [socket, parts.client?.decoder])
    if (emitter) compactListeners(emitter as Emitter, false);
  for (const emitter of [conn, conn?.transport, websocket])
    if (emitter) compactListeners(emitter, true);
}

function compactListeners(emitter: Emitter, closesOnce: boolean): void {
  if (emitter._events) emitter._events = compacted(emitter._events, closesOnce);
  if (emitter._callbacks) emitter._callbacks = compacted(emitter._callbacks, false);
}

/** What Node's `once` registers: a bound `onceWrapper` that keeps the listener it wraps. */
type OnceWrapper = ((...args: unknown[]) => void) & { listener?: unknown };

/**
 * The listener a `once` wrapper calls, for an emitter that emits `close` only once (Engine.IO
 * guards its socket's `close` by its ready state, its WebSocket transport closes only on the
 * `ws` WebSocket's `close`, which `ws` emits once): the wrapper's state costs about 140 B a
 * listener, and removing the listener by its function still works.
 */
function unwrapOnce(listener: unknown): unknown {
  const wrapper = listener as OnceWrapper;
  if (typeof wrapper !== 'function' || wrapper.name !== 'bound onceWrapper') return listener;
  return typeof wrapper.listener === 'function' ? wrapper.listener : listener;
}

/**
 * The same listeners in a fast-mode object: a dictionary's keys copied into a new object
 * (in the order they were added, so connections alike share its shape) whose prototype is
 * then set to null, which keeps it fast; an object that is already fast (the decoder's) is
 * kept. Listener arrays are copied to their exact length; an emitter copies an array before
 * calling it, so no emit in progress sees the change.
 */
function compacted(store: ListenerStore, closesOnce: boolean): ListenerStore {
  const dictionary = Object.getPrototypeOf(store) === null;
  const keys = Reflect.ownKeys(store);
  // Assigned to a plain object, this key would set its prototype instead.
  if (dictionary && keys.includes('__proto__')) return store;
  const target: ListenerStore = dictionary ? {} : store;
  for (const key of keys) {
    const value = store[key];
    if (closesOnce && key === 'close')
      target[key] = Array.isArray(value) ? value.map(unwrapOnce) : unwrapOnce(value);
    else target[key] = Array.isArray(value) ? value.slice() : value;
  }
  return dictionary ? (Object.setPrototypeOf(target, null) as ListenerStore) : target;
}

/**
 * Socket.IO's handshake with the same fields, except that `time` (`new Date() + ""` at the
 * handshake, an 80-byte string per connection) is formatted from `issued` when read, and the
 * headers leave out `UPGRADE_HEADERS` (about 160 B of strings and slots). Built once the
 * door (token, limits, origin) has read what it needs.
 */
function compactHandshake(handshake: Handshake): Handshake {
  const { address, xdomain, secure, issued, url, query, auth } = handshake;
  const compact = { headers: withoutUpgradeHeaders(handshake.headers) } as Handshake;
  // Defined on a plain object, not in a literal: a literal with a getter is a dictionary.
  Object.defineProperty(compact, 'time', FORMATTED_TIME);
  return Object.assign(compact, { address, xdomain, secure, issued, url, query, auth });
}

const FORMATTED_TIME: PropertyDescriptor = {
  get(this: Handshake): string {
    return String(new Date(this.issued));
  },
  enumerable: true,
  configurable: true,
};

function withoutUpgradeHeaders(headers: Handshake['headers']): Handshake['headers'] {
  if (headers.upgrade === undefined) return headers;
  const kept: Handshake['headers'] = {};
  for (const name of Object.keys(headers))
    if (!UPGRADE_HEADERS.has(name)) kept[name] = headers[name];
  return kept;
}
