/** The EventEmitter2 event a host app listens to (`@OnEvent(USER_DISCONNECTED_EVENT)`). */
export const USER_DISCONNECTED_EVENT = 'realtime.user.disconnected';

/**
 * The `reason` of a notice fired because the instance holding the user's last connections
 * stopped answering (crashed, killed, cut off from Redis), not because a connection closed.
 */
export const INSTANCE_LOST_REASON = 'instance_lost';

/**
 * What the backend is told when an armed user's last connection closed: POSTed as JSON and
 * emitted on EventEmitter2, once per last close across the cluster.
 */
export interface UserDisconnectedNotice {
  /** The verified token's user id. */
  readonly userId: string;
  /**
   * Why the last connection closed: Socket.IO's reason (`transport close`, `ping timeout`,
   * `client namespace disconnect`, `server namespace disconnect`, ...) or `instance_lost`.
   */
  readonly reason: string;
  /** The `connectionId` (as in `connected`) of the connection that closed last. */
  readonly lastConnectionId: string;
  /** When it closed (or, for `instance_lost`, when the cluster noticed), ms since the epoch. */
  readonly at: number;
}
