import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { UnjoinedConnections, type UnjoinedConnection } from './unjoined-connections.js';

const connection = () => new EventEmitter() as unknown as UnjoinedConnection & EventEmitter;

describe('UnjoinedConnections', () => {
  it('admits up to max per address, and frees a place on join or close, once', () => {
    const unjoined = new UnjoinedConnections(2);
    const [a, b, c] = [connection(), connection(), connection()];
    unjoined.opened(a, '10.0.0.1');
    unjoined.opened(b, '10.0.0.1');
    expect(unjoined.admits('10.0.0.1')).toBe(false);
    expect(unjoined.admits('10.0.0.2')).toBe(true);
    unjoined.joined(a);
    a.emit('close');
    unjoined.joined(a);
    expect(unjoined.waiting('10.0.0.1')).toBe(1);
    unjoined.opened(c, '10.0.0.1');
    b.emit('close');
    c.emit('close');
    expect(unjoined.waiting('10.0.0.1')).toBe(0);
    expect(unjoined.admits('10.0.0.1')).toBe(true);
  });

  it('counts nothing without a bound', () => {
    const unjoined = new UnjoinedConnections(0);
    const conn = connection();
    unjoined.opened(conn, '10.0.0.1');
    expect(unjoined.waiting('10.0.0.1')).toBe(0);
    expect(unjoined.admits('10.0.0.1')).toBe(true);
    expect(conn.listenerCount('close')).toBe(0);
  });
});
