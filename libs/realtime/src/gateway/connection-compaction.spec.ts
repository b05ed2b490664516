import { describe, expect, it, jest } from '@jest/globals';
import { Emitter as ComponentEmitter } from '@socket.io/component-emitter';
import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { hasFastProperties } from '../../../../test/support/object-shape.js';
import { compactConnection } from './connection-compaction.js';

type Store = Record<string | symbol, unknown>;
const eventsOf = (emitter: object): Store => (emitter as { _events: Store })._events;

/** What Socket.IO's `buildHandshake` makes for a WebSocket connection (its fields, in order). */
function handshake(): Socket['handshake'] {
  const issued = Date.now();
  return {
    headers: {
      host: '127.0.0.1:3000',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
      origin: 'https://app.example',
      'x-forwarded-for': '203.0.113.7',
    },
    time: String(new Date(issued)),
    address: '127.0.0.1',
    xdomain: true,
    secure: false,
    issued,
    url: '/socket.io/?EIO=4&transport=websocket',
    query: { EIO: '4', transport: 'websocket' },
    auth: { batch: true },
  };
}

/** A stand-in for a Socket.IO connection: real emitters of each library, in their places. */
function connection() {
  const socket = new EventEmitter();
  const conn = new EventEmitter();
  const transport = new EventEmitter();
  const websocket = new EventEmitter();
  const decoder = new ComponentEmitter();
  Object.assign(socket, {
    conn,
    client: { decoder },
    fns: [] as unknown[],
    handshake: handshake(),
  });
  Object.assign(conn, { transport, cleanupFn: [] as unknown[] });
  Object.assign(transport, { socket: websocket });
  return { socket, conn, transport, websocket, decoder };
}

describe('compactConnection', () => {
  it("turns each emitter's listener dictionary into a fast object with the same listeners, in order", () => {
    const parts = connection();
    const listeners = Array.from({ length: 9 }, () => jest.fn());
    const marker = Symbol('marker');
    for (const emitter of [parts.socket, parts.conn, parts.transport, parts.websocket]) {
      ['packet', 'drain', 'error', 'close', 'upgrade', 'heartbeat', 'data'].forEach((event, i) =>
        emitter.on(event, listeners[i]!),
      );
      emitter.on('close', listeners[7]!);
      emitter.on(marker, listeners[8]!);
      emitter.once('flush', listeners[0]!);
      emitter.emit('flush');
    }
    const before = [parts.socket, parts.conn, parts.transport, parts.websocket].map((e) => ({
      names: e.eventNames(),
      close: e.rawListeners('close'),
    }));
    expect(hasFastProperties(eventsOf(parts.socket))).toBe(false);

    compactConnection(parts.socket as unknown as Socket);

    [parts.socket, parts.conn, parts.transport, parts.websocket].forEach((emitter, i) => {
      const events = eventsOf(emitter);
      expect(hasFastProperties(events)).toBe(true);
      expect(Object.getPrototypeOf(events)).toBeNull();
      expect(emitter.eventNames()).toEqual(before[i]!.names);
      expect(emitter.rawListeners('close')).toEqual(before[i]!.close);
      // Nothing inherited answers to an event's name.
      expect(events['constructor']).toBeUndefined();
    });
  });

  it('leaves the emitters working: emit, once, add and remove after compaction', () => {
    const parts = connection();
    const first = jest.fn();
    const second = jest.fn();
    parts.conn.on('packet', first);
    parts.conn.on('packet', second);
    compactConnection(parts.socket as unknown as Socket);

    parts.conn.emit('packet', 1);
    expect(first).toHaveBeenCalledWith(1);
    expect(second).toHaveBeenCalledWith(1);
    const once = jest.fn();
    parts.conn.once('close', once);
    parts.conn.emit('close');
    parts.conn.emit('close');
    expect(once).toHaveBeenCalledTimes(1);
    parts.conn.removeListener('packet', first);
    parts.conn.emit('packet', 2);
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).toHaveBeenCalledTimes(2);
    expect(parts.conn.listenerCount('packet')).toBe(1);
  });

  it('copies listener arrays to new ones, so an emit in progress keeps its own', () => {
    const parts = connection();
    const calls: string[] = [];
    parts.websocket.on('message', () => {
      calls.push('first');
      compactConnection(parts.socket as unknown as Socket);
    });
    parts.websocket.on('message', () => calls.push('second'));
    const array = eventsOf(parts.websocket)['message'];
    parts.websocket.emit('message');
    expect(calls).toEqual(['first', 'second']);
    expect(eventsOf(parts.websocket)['message']).not.toBe(array);
    expect(eventsOf(parts.websocket)['message']).toEqual(array);
  });

  it("keeps the decoder's callbacks object, and copies its arrays and the socket's middlewares", () => {
    const parts = connection();
    const decoded = [jest.fn(), jest.fn()];
    for (const listener of decoded) parts.decoder.on('decoded', listener);
    const callbacks = (parts.decoder as unknown as { _callbacks: Store })._callbacks;
    const list = callbacks['$decoded'];
    const middleware = jest.fn();
    const fns = (parts.socket as unknown as { fns: unknown[] }).fns;
    fns.push(middleware);
    compactConnection(parts.socket as unknown as Socket);

    expect((parts.decoder as unknown as { _callbacks: Store })._callbacks).toBe(callbacks);
    expect(callbacks['$decoded']).not.toBe(list);
    parts.decoder.emit('decoded', 'packet');
    for (const listener of decoded) expect(listener).toHaveBeenCalledWith('packet');
    expect((parts.socket as unknown as { fns: unknown[] }).fns).not.toBe(fns);
    expect((parts.socket as unknown as { fns: unknown[] }).fns).toEqual([middleware]);
  });

  it('leaves a store with a __proto__ event as it is', () => {
    const parts = connection();
    parts.socket.on('__proto__', () => undefined);
    const events = eventsOf(parts.socket);
    compactConnection(parts.socket as unknown as Socket);
    expect(eventsOf(parts.socket)).toBe(events);
    expect(parts.socket.listenerCount('__proto__')).toBe(1);
  });

  it('skips parts a connection does not have (a transport without a WebSocket)', () => {
    const socket = new EventEmitter();
    Object.assign(socket, {
      handshake: handshake(),
      conn: Object.assign(new EventEmitter(), { transport: {} }),
    });
    expect(() => compactConnection(socket as unknown as Socket)).not.toThrow();
    expect(hasFastProperties(eventsOf(socket))).toBe(true);
  });

  it("calls a `close` listener of Engine.IO's socket, its transport and the WebSocket without its once wrapper, still once", () => {
    const parts = connection();
    const closed = jest.fn();
    const errored = jest.fn();
    for (const emitter of [parts.conn, parts.transport, parts.websocket]) {
      emitter.once('close', closed);
      emitter.once('error', errored);
    }
    parts.socket.once('close', closed);
    compactConnection(parts.socket as unknown as Socket);

    for (const emitter of [parts.conn, parts.transport, parts.websocket]) {
      expect(emitter.rawListeners('close')).toEqual([closed]);
      // Errors may come more than once: their once wrappers stay.
      expect(emitter.rawListeners('error')[0]).not.toBe(errored);
      emitter.emit('close');
      emitter.emit('error', new Error('first'));
      expect(emitter.listenerCount('error')).toBe(0);
    }
    expect(closed).toHaveBeenCalledTimes(3);
    expect(errored).toHaveBeenCalledTimes(3);
    expect(parts.socket.rawListeners('close')[0]).not.toBe(closed);
    const removed = jest.fn();
    parts.conn.on('close', removed);
    parts.conn.removeListener('close', closed);
    expect(parts.conn.rawListeners('close')).toEqual([removed]);
  });

  it("keeps the handshake's fields, formats its time when read and drops the upgrade's headers", () => {
    const parts = connection();
    const before = (parts.socket as unknown as Socket).handshake;
    compactConnection(parts.socket as unknown as Socket);
    const after = (parts.socket as unknown as Socket).handshake;

    expect(Object.keys(after)).toEqual(Object.keys(before));
    expect(hasFastProperties(after)).toBe(true);
    expect({ ...after, headers: undefined }).toEqual({ ...before, headers: undefined });
    expect(after.time).toBe(String(new Date(before.issued)));
    expect(after.headers).toEqual({
      host: '127.0.0.1:3000',
      origin: 'https://app.example',
      'x-forwarded-for': '203.0.113.7',
    });
    expect(after.query).toBe(before.query);
    expect(after.auth).toBe(before.auth);
  });

  it('keeps the headers of a handshake made over long-polling as they are', () => {
    const parts = connection();
    const polled = handshake();
    polled.headers = { host: '127.0.0.1:3000', origin: 'https://app.example' };
    Object.assign(parts.socket, { handshake: polled });
    compactConnection(parts.socket as unknown as Socket);
    expect((parts.socket as unknown as Socket).handshake.headers).toBe(polled.headers);
  });
});
