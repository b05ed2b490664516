import { describe, expect, it } from '@jest/globals';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  EVERYONE_ROOM,
  TICKER_ALL_ROOM,
  marketRoom,
  userConnectionsRoom,
  userRoom,
} from '../events/rooms.js';
import { crc32 as marketCrc32 } from '../market/crc32.js';
import {
  EVERYONE_BUS_GROUP,
  SINGLE_BUS_GROUP,
  busGroupLayout,
  busGroupOfRoom,
  busGroupPrefix,
  isUserGroup,
  symbolGroupNumber,
  userGroupNumber,
  userOfConnectionsRoom,
} from './bus-groups.js';

describe('bus groups', () => {
  it('puts every room in the one group when there is one (keys as before groups)', () => {
    for (const room of ['trades:BTCUSDT', 'user:alice:orders', EVERYONE_ROOM, TICKER_ALL_ROOM])
      expect(busGroupOfRoom(room, 1)).toBe(SINGLE_BUS_GROUP);
    expect(busGroupPrefix('/ws', SINGLE_BUS_GROUP)).toBe('{realtime:/ws}:');
  });

  it('groups public rooms by symbol, whatever the channel or key', () => {
    const group = `s${zlibCrc32('BTCUSDT') % 8}`;
    expect(busGroupOfRoom(marketRoom('trades', 'BTCUSDT'), 8)).toBe(group);
    expect(busGroupOfRoom(marketRoom('orderbook', 'BTCUSDT'), 8)).toBe(group);
    expect(busGroupOfRoom(marketRoom('klines', 'BTCUSDT', '1m'), 8)).toBe(group);
    expect(busGroupOfRoom(marketRoom('trades', 'ETHUSDT'), 8)).toBe(`s${zlibCrc32('ETHUSDT') % 8}`);
  });

  it('groups private rooms by user id, every channel of a user in one group', () => {
    const group = `u${zlibCrc32('alice') % 16}`;
    expect(busGroupOfRoom(userRoom('alice', 'user.orders'), 16)).toBe(group);
    expect(busGroupOfRoom(userRoom('alice', 'user.balances'), 16)).toBe(group);
    expect(isUserGroup(group)).toBe(true);
    expect(isUserGroup('s3')).toBe(false);
  });

  it('puts system alerts and the all-tickers room in the group every instance listens to', () => {
    expect(busGroupOfRoom(EVERYONE_ROOM, 8)).toBe(EVERYONE_BUS_GROUP);
    expect(busGroupOfRoom(TICKER_ALL_ROOM, 8)).toBe(EVERYONE_BUS_GROUP);
    expect(busGroupPrefix('/ws', EVERYONE_BUS_GROUP)).toBe('{realtime:/ws:*}:');
    expect(busGroupPrefix('/ws', 's3')).toBe('{realtime:/ws:s3}:');
  });

  it('spreads symbols and users over every group, with the CRC-32 a load balancer computes', () => {
    const symbols = new Set<number>();
    const users = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const symbol = `SYM${i}USDT`;
      expect(symbolGroupNumber(symbol, 16)).toBe(marketCrc32(symbol) % 16);
      symbols.add(symbolGroupNumber(symbol, 16));
      users.add(userGroupNumber(`user-${i}`, 16));
    }
    expect(symbols.size).toBe(16);
    expect(users.size).toBe(16);
    // UTF-8 bytes, not UTF-16 units: the same number in any language.
    expect(userGroupNumber('zoë', 1024)).toBe(zlibCrc32(Buffer.from('zoë', 'utf8')) % 1024);
  });

  it('knows a connections room from a private room', () => {
    expect(userOfConnectionsRoom(userConnectionsRoom('alice'))).toBe('alice');
    expect(userOfConnectionsRoom(userRoom('alice', 'user.orders'))).toBeUndefined();
    expect(userOfConnectionsRoom('trades:BTCUSDT')).toBeUndefined();
    expect(userOfConnectionsRoom('user:')).toBeUndefined();
  });

  it('checks the group count and the symbol groups an instance serves', () => {
    expect(busGroupLayout()).toEqual({ groups: 1, symbolGroups: [0], restricted: false });
    expect(busGroupLayout(4)).toEqual({ groups: 4, symbolGroups: [0, 1, 2, 3], restricted: false });
    expect(busGroupLayout(4, [3, 1, 1])).toEqual({
      groups: 4,
      symbolGroups: [1, 3],
      restricted: true,
    });
    expect(() => busGroupLayout(0)).toThrow('busGroups must be an integer from 1 to 1024, got 0');
    expect(() => busGroupLayout(1025)).toThrow('busGroups must be an integer from 1 to 1024');
    expect(() => busGroupLayout(1.5)).toThrow('busGroups must be an integer');
    expect(() => busGroupLayout(1, [0])).toThrow('busSymbolGroups needs busGroups above 1');
    expect(() => busGroupLayout(4, [4])).toThrow('entries must be integers from 0 to 3, got 4');
    expect(() => busGroupLayout(4, [])).toThrow('busSymbolGroups must name at least one group');
  });
});
