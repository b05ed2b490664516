import { describe, expect, it } from '@jest/globals';
import { eventDefinition } from '../events/event-catalogue.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { MAX_MEMORY_ROOMS, MemoryRoomLogs } from './memory-room-logs.js';
import { NO_HISTORY } from './recovery-options.js';

const trade = eventDefinition('trade') as CatalogueEvent;
const history = { size: 5, ageMs: 60_000 };
const DAY = 24 * 3_600_000;

function logsWith(members: Set<string> = new Set(), maxMessages = 1000) {
  return new MemoryRoomLogs(maxMessages, DAY, 60_000, (room) => members.has(room));
}

function appendTrades(logs: MemoryRoomLogs, room: string, count: number, ts = 1000) {
  for (let i = 1; i <= count; i++) logs.append(room, history, trade, { tradeId: i }, ts + i);
}

describe('MemoryRoomLogs', () => {
  it('counts offsets per room under one epoch each', () => {
    const logs = logsWith();
    appendTrades(logs, 'trades:A', 3);
    const b = logs.append('trades:B', history, trade, {}, 1000);
    const a = logs.position('trades:A')!;
    expect(a.offset).toBe(3);
    expect(b.offset).toBe(1);
    expect(a.epoch).toMatch(/^[a-z0-9]{1,64}$/);
    expect(b.epoch).not.toBe(a.epoch);
  });

  it('gives what a client missed since its position, in order, and nothing when it missed nothing', () => {
    const logs = logsWith();
    appendTrades(logs, 'trades:A', 4);
    const { epoch } = logs.position('trades:A')!;
    const opening = logs.open('trades:A', history, { offset: 1, epoch }, 2000);
    expect(opening.position).toEqual({ offset: 4, epoch });
    expect(opening.missed!.map((m) => [m.offset, m.data.tradeId])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expect(logs.open('trades:A', history, { offset: 4, epoch }, 2000)).toEqual({
      position: { offset: 4, epoch },
      missed: [],
    });
  });

  it('says why it cannot: another epoch, a position ahead of the stream, too far behind, no history', () => {
    const logs = logsWith();
    appendTrades(logs, 'trades:A', 8);
    const { epoch } = logs.position('trades:A')!;
    const open = (offset: number, at = 2000, e = epoch, h = history) =>
      logs.open('trades:A', h, { offset, epoch: e }, at).failure;
    expect(open(7, 2000, 'another')).toBe('epoch_changed');
    expect(open(9)).toBe('epoch_changed');
    // Five kept (4..8): since 3 still recovers, since 2 misses offset 3.
    expect(open(3)).toBeUndefined();
    expect(open(2)).toBe('too_old');
    expect(open(7, 1008 + 60_001)).toBe('too_old');
    expect(open(7, 2000, epoch, NO_HISTORY)).toBe('history_off');
  });

  it('opens a room it never saw at offset 0 of a new epoch, which its first message continues', () => {
    const logs = logsWith();
    const opening = logs.open('user:u1:orders', history, undefined, 1000);
    expect(opening.position.offset).toBe(0);
    const first = logs.append('user:u1:orders', history, trade, {}, 1001);
    expect([first.offset, first.epoch]).toEqual([1, opening.position.epoch]);
  });

  it('forgets a room without history once nobody listens, and keeps one with history', () => {
    const logs = logsWith();
    logs.append('ticker:A', NO_HISTORY, trade, {}, 1000);
    appendTrades(logs, 'trades:A', 1);
    logs.forget('ticker:A');
    logs.forget('trades:A');
    expect(logs.position('ticker:A')).toBeUndefined();
    expect(logs.position('trades:A')?.offset).toBe(1);
  });

  it('bounds the messages over all rooms, the least recently written losing theirs first', () => {
    const logs = logsWith(new Set(), 8);
    appendTrades(logs, 'trades:OLD', 5);
    appendTrades(logs, 'trades:NEW', 5, 2000);
    expect(logs.messages).toBe(10);
    logs.sweep(3000);
    expect(logs.messages).toBe(5);
    const old = logs.position('trades:OLD')!;
    expect(logs.open('trades:OLD', history, { offset: 3, epoch: old.epoch }, 3000).failure).toBe(
      'too_old',
    );
    // The position survives its messages.
    expect(old.offset).toBe(5);
  });

  it('drops expired messages of quiet rooms, and positions past their lifetime nobody listens to', () => {
    const members = new Set(['trades:KEPT']);
    const logs = logsWith(members);
    appendTrades(logs, 'trades:GONE', 3);
    appendTrades(logs, 'trades:KEPT', 3);
    logs.sweep(1003 + 60_001);
    expect(logs.messages).toBe(0);
    expect(logs.rooms).toBe(2);
    logs.sweep(1003 + DAY + 1);
    expect(logs.position('trades:GONE')).toBeUndefined();
    expect(logs.position('trades:KEPT')).toBeDefined();
  });

  it(`keeps at most ${MAX_MEMORY_ROOMS} rooms, evicting the least recently written nobody listens to`, () => {
    const logs = logsWith(new Set(['user:0:orders']));
    for (let i = 0; i < MAX_MEMORY_ROOMS + 10; i++)
      logs.append(`user:${i}:orders`, NO_HISTORY, trade, {}, 1000 + i);
    logs.sweep(1000 + MAX_MEMORY_ROOMS + 10);
    expect(logs.rooms).toBe(MAX_MEMORY_ROOMS);
    expect(logs.position('user:0:orders')).toBeDefined();
    expect(logs.position('user:1:orders')).toBeUndefined();
    expect(logs.position(`user:${MAX_MEMORY_ROOMS + 9}:orders`)).toBeDefined();
  });

  it('clears every room but those it is told to keep', () => {
    const logs = logsWith();
    appendTrades(logs, 'trades:A', 2);
    logs.append('ticker:all', NO_HISTORY, trade, {}, 1000);
    logs.clear(new Set(['ticker:all']));
    expect(logs.position('trades:A')).toBeUndefined();
    expect(logs.position('ticker:all')).toBeDefined();
    expect(logs.messages).toBe(0);
  });
});
