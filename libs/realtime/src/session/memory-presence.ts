import type { UserDisconnectedNotice } from './user-disconnected-notice.js';
import type { FireSwitch, PresenceConnection, UserPresence } from './user-presence.js';

/** Runs `task` after `ms`; returns how to cancel it. */
export type Schedule = (task: () => void, ms: number) => () => void;

const realSchedule: Schedule = (task, ms) => {
  const timer = setTimeout(task, ms);
  return () => clearTimeout(timer);
};

/**
 * One instance's users, in memory (no Redis): a user's switch fires when their last
 * connection on this instance closed armed and none opened within the grace. A grace still
 * running when the process stops is lost with it.
 */
export class MemoryPresence implements UserPresence {
  /** Open connections per user: connection id → armed. */
  private readonly users = new Map<string, Map<string, boolean>>();
  /** Graces running, by user: how to cancel each. */
  private readonly graces = new Map<string, () => void>();

  constructor(
    private readonly graceMs: number,
    private readonly fire: FireSwitch,
    private readonly schedule: Schedule = realSchedule,
  ) {}

  start(): void {}

  connected({ userId, connectionId, armed }: PresenceConnection): void {
    let connections = this.users.get(userId);
    if (!connections) this.users.set(userId, (connections = new Map()));
    connections.set(connectionId, armed);
    // Back within the grace: that last close ended nothing.
    this.graces.get(userId)?.();
    this.graces.delete(userId);
  }

  disconnected({ userId, connectionId }: PresenceConnection, reason: string, at: number): void {
    const connections = this.users.get(userId);
    const armed = connections?.get(connectionId);
    if (armed === undefined) return;
    connections!.delete(connectionId);
    if (connections!.size > 0) return;
    this.users.delete(userId);
    if (!armed) return;
    const notice: UserDisconnectedNotice = { userId, reason, lastConnectionId: connectionId, at };
    if (this.graceMs === 0) return this.fire(notice);
    this.graces.set(
      userId,
      this.schedule(() => {
        this.graces.delete(userId);
        this.fire(notice);
      }, this.graceMs),
    );
  }

  /** Users with a connection open (for tests and operators). */
  get connectedUsers(): number {
    return this.users.size;
  }

  async dispose(): Promise<void> {
    for (const cancel of this.graces.values()) cancel();
    this.graces.clear();
  }
}
