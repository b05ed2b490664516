import { describe, expect, it } from '@jest/globals';
import { MemoryPresence, type Schedule } from './memory-presence.js';
import type { UserDisconnectedNotice } from './user-disconnected-notice.js';

/** Graces the test runs by hand. */
class ManualSchedule {
  readonly tasks = new Set<() => void>();
  readonly schedule: Schedule = (task) => {
    this.tasks.add(task);
    return () => this.tasks.delete(task);
  };

  runAll(): void {
    for (const task of [...this.tasks]) {
      this.tasks.delete(task);
      task();
    }
  }
}

const conn = (connectionId: string, armed = true, userId = 'u') => ({
  userId,
  connectionId,
  armed,
});

describe('MemoryPresence', () => {
  it("fires once, when the user's last connection closes armed", () => {
    const fired: UserDisconnectedNotice[] = [];
    const presence = new MemoryPresence(0, (n) => fired.push(n));
    presence.connected(conn('a'));
    presence.connected(conn('b'));
    presence.disconnected(conn('a'), 'transport close', 1);
    expect(fired).toEqual([]);
    presence.disconnected(conn('b'), 'ping timeout', 2);
    presence.disconnected(conn('b'), 'ping timeout', 3);
    expect(fired).toEqual([{ userId: 'u', reason: 'ping timeout', lastConnectionId: 'b', at: 2 }]);
    expect(presence.connectedUsers).toBe(0);
  });

  it('fires nothing when the last connection to close did not ask, nor for users who never did', () => {
    const fired: UserDisconnectedNotice[] = [];
    const presence = new MemoryPresence(0, (n) => fired.push(n));
    presence.connected(conn('armed'));
    presence.connected(conn('plain', false));
    presence.disconnected(conn('armed'), 'transport close', 1);
    presence.disconnected(conn('plain', false), 'transport close', 2);
    presence.connected(conn('x', false, 'other'));
    presence.disconnected(conn('x', false, 'other'), 'transport close', 3);
    expect(fired).toEqual([]);
  });

  it('drops the notice when the user comes back within the grace, fires it when not', () => {
    const fired: UserDisconnectedNotice[] = [];
    const timers = new ManualSchedule();
    const presence = new MemoryPresence(1000, (n) => fired.push(n), timers.schedule);
    presence.connected(conn('a'));
    presence.disconnected(conn('a'), 'transport close', 1);
    presence.connected(conn('b', false));
    timers.runAll();
    expect(fired).toEqual([]);

    presence.connected(conn('c'));
    presence.disconnected(conn('b', false), 'transport close', 2);
    presence.disconnected(conn('c'), 'transport close', 3);
    expect(fired).toEqual([]);
    timers.runAll();
    expect(fired).toEqual([
      { userId: 'u', reason: 'transport close', lastConnectionId: 'c', at: 3 },
    ]);
  });

  it('cancels running graces when disposed', async () => {
    const fired: UserDisconnectedNotice[] = [];
    const timers = new ManualSchedule();
    const presence = new MemoryPresence(1000, (n) => fired.push(n), timers.schedule);
    presence.connected(conn('a'));
    presence.disconnected(conn('a'), 'transport close', 1);
    await presence.dispose();
    expect(timers.tasks.size).toBe(0);
  });
});
