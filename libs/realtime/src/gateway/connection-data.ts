/** What the gateway keeps on each connection (`socket.data`), set once the door let it in. */
export interface ConnectionData {
  /** The verified token's user id; null for anonymous connections. */
  userId: string | null;
  /** Roles from the token's `role` / `roles` claims. */
  roles: string[];
  /** When the token runs out (ms since the epoch, skew included); null when anonymous or without `exp`. */
  expiresAt: number | null;
  /** Asked for batches (`auth.batch: true`): joins the batched twin of every subscription room. */
  batched: boolean;
  /** Its requests waiting for their backends (set by the request relay once it has one). */
  requestsWaiting?: number;
}
