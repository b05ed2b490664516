/**
 * A room's place in its stream: `offset` goes up by one per message of the room (the same on
 * every gateway instance); `epoch` changes when the room's stream was reset or lost.
 */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/**
 * Why a subscription did not get what it missed:
 * - `epoch_changed`: the room's stream was reset (a Redis restart or eviction, an instance
 *   that served alone during a Redis outage); also said of a live message of a new epoch.
 * - `too_old`: the gateway no longer holds messages that far back.
 * - `history_off`: the channel keeps no history; order books always, they recover by snapshot.
 * - `unavailable`: the gateway could not tell (its Redis was down), or the client never
 *   learned a position for the subscription, so it had none to send.
 */
export type RecoveryReason = 'epoch_changed' | 'too_old' | 'history_off' | 'unavailable';

/**
 * A missed message: within one epoch, a live message's `offset` was `received` where
 * `expected` (the last one + 1) was due. Refetch whatever state you built from that room.
 */
export interface Gap {
  /** The subscription (room) key, `channel[:SYMBOL[:key]]`. */
  key: string;
  epoch: string;
  expected: number;
  received: number;
}

/**
 * What one envelope meant for its subscription's remembered position. `skip`: its offset
 * jumped on a conflated feed (a rate or a partial book), where jumps are how it works.
 */
export type Arrival =
  | { kind: 'first' | 'next' | 'replay' | 'skip' }
  | { kind: 'gap'; gap: Gap }
  | { kind: 'reset'; previous: StreamPosition; position: StreamPosition };

/** The part of a `subscribed` answer that concerns recovery. */
export interface RecoveryAnswer {
  position?: StreamPosition;
  recovered?: boolean;
  reason?: RecoveryReason;
  /** The feed skips offsets (a rate or a partial book): a jump is no gap. */
  conflated?: boolean;
}

/** What an answer to a subscribe sent with `since` said. */
export interface AnsweredRecovery {
  recovered: boolean;
  reason?: RecoveryReason;
  /** How many missed messages follow the answer (recovered only). */
  missed?: number;
}

const REASONS: ReadonlySet<string> = new Set<RecoveryReason>([
  'epoch_changed',
  'too_old',
  'history_off',
  'unavailable',
]);

/** A position off the wire, or undefined when it is not one. */
export function positionOf(value: unknown): StreamPosition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { offset, epoch } = value as { offset?: unknown; epoch?: unknown };
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || typeof epoch !== 'string')
    return undefined;
  return { offset: offset as number, epoch };
}

/**
 * Each subscription's last known position, kept from the gateway's answers and from every
 * envelope: what a resubscribe sends as `since`, and what gaps and resets are checked against.
 * Pure logic, no connection.
 */
export class StreamPositions {
  private readonly positions = new Map<string, StreamPosition>();
  /** Subscriptions whose feed the gateway said is conflated (offsets may jump). */
  private readonly conflated = new Set<string>();

  get(key: string): StreamPosition | undefined {
    const position = this.positions.get(key);
    return position && { ...position };
  }

  /**
   * What a resubscribe sends as `since`: the last position, when the gateway would take it
   * (an epoch of 1-64 characters); otherwise none, and the subscribe starts afresh.
   */
  since(key: string): StreamPosition | undefined {
    const position = this.get(key);
    return position && position.epoch.length >= 1 && position.epoch.length <= 64
      ? position
      : undefined;
  }

  forget(key: string): void {
    this.positions.delete(key);
    this.conflated.delete(key);
  }

  /** Whether the last answer for `key` said its feed skips offsets. */
  isConflated(key: string): boolean {
    return this.conflated.has(key);
  }

  /**
   * Takes a `subscribed` answer. With `since` (a resubscribe after a reconnect), says whether
   * the gateway recovered what was missed; without, returns undefined. An answer with a
   * position says whether the subscription's feed is conflated now (a switch of rate changes
   * it); one without repeats a subscription the connection had, feed and all.
   */
  answered(
    key: string,
    answer: RecoveryAnswer,
    since?: StreamPosition,
  ): AnsweredRecovery | undefined {
    if (answer.conflated === true) this.conflated.add(key);
    else if (answer.position !== undefined) this.conflated.delete(key);
    const position = positionOf(answer.position);
    if (since && answer.recovered === true) {
      // The missed messages follow, from since.offset + 1 up to position.offset.
      this.positions.set(key, { ...since });
      const missed =
        position && position.epoch === since.epoch ? position.offset - since.offset : undefined;
      return missed === undefined || missed < 0 ? { recovered: true } : { recovered: true, missed };
    }
    if (!since) {
      // No position: the gateway could not tell, or the connection already had the room
      // (a second subscribe is answered without one); what is known still holds.
      if (position) this.positions.set(key, position);
      return undefined;
    }
    // Not recovered: the stream starts over from the answer's position.
    if (position) this.positions.set(key, position);
    else this.positions.delete(key);
    const reason =
      typeof answer.reason === 'string' && REASONS.has(answer.reason)
        ? answer.reason
        : 'unavailable';
    return { recovered: false, reason };
  }

  /** Takes one envelope's position: remembers it and says whether it continued the stream. */
  received(key: string, position: StreamPosition, replay: boolean): Arrival {
    const last = this.positions.get(key);
    this.positions.set(key, { offset: position.offset, epoch: position.epoch });
    if (last === undefined) return { kind: 'first' };
    // A replayed message carries the room's position: it sets, never breaks, the stream.
    if (replay) return { kind: 'replay' };
    if (last.epoch !== position.epoch) return { kind: 'reset', previous: last, position };
    if (position.offset === last.offset + 1) return { kind: 'next' };
    // A conflated feed sends the latest of each window: the offsets between went elsewhere.
    if (this.conflated.has(key)) return { kind: 'skip' };
    return {
      kind: 'gap',
      gap: { key, epoch: position.epoch, expected: last.offset + 1, received: position.offset },
    };
  }
}
