import type { UserDisconnectedNotice } from './user-disconnected-notice.js';

/** One signed-in connection, as presence tracks it. */
export interface PresenceConnection {
  readonly userId: string;
  /** The Socket.IO id, as the client's `connected.connectionId`. */
  readonly connectionId: string;
  /** Asked for cancel-on-disconnect (`auth.cancelOnDisconnect: true`). */
  readonly armed: boolean;
}

/** Called once per last close of an armed user, on the one instance that fired. */
export type FireSwitch = (notice: UserDisconnectedNotice) => void;

/**
 * Where users' connections are counted: one instance's memory, or Redis for the cluster.
 * Either way a user's switch fires once their last connection has closed (and `graceMs`
 * passed without a new one), when that last close took at least one armed connection.
 */
export interface UserPresence {
  /** Starts background work (heartbeats, sweeps); connections may come before. */
  start(): void;
  connected(connection: PresenceConnection): void;
  /** `at`: when it closed (ms since the epoch). */
  disconnected(connection: PresenceConnection, reason: string, at: number): void;
  /** Stops background work; notices already due may still be handed to `fire` meanwhile. */
  dispose(): Promise<void>;
}
