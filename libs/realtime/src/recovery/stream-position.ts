import type { CatalogueEvent } from '../events/catalogue-event.js';

/**
 * Where a room's stream stands: `offset` counts the room's messages (one more each), the
 * same on every instance; `epoch` names the stream, and changes when its history was lost
 * or reset, so an old offset is never read against a new stream.
 */
export interface StreamPosition {
  readonly offset: number;
  readonly epoch: string;
}

/** Why a subscription with `since` could not be caught up from history. */
export type RecoveryFailure =
  /** The room's stream is not the one the client knew (history lost or reset). */
  | 'epoch_changed'
  /** The client is further behind than the room's history reaches. */
  | 'too_old'
  /** The channel keeps no history (order books recover by snapshot). */
  | 'history_off'
  /** The history could not be read (Redis away). */
  | 'unavailable';

/** One message of a room's history. */
export interface StoredMessage {
  readonly definition: CatalogueEvent;
  readonly data: Record<string, unknown>;
  readonly offset: number;
  readonly ts: number;
}

/**
 * What opening a subscription found: the room's position just before the live stream, and,
 * when the client sent `since`, the messages it missed or why there are none.
 */
export interface RoomOpening {
  readonly position: StreamPosition;
  readonly missed?: readonly StoredMessage[];
  readonly failure?: RecoveryFailure;
}

/** Longest epoch a client may send back. */
export const MAX_EPOCH_LENGTH = 64;
