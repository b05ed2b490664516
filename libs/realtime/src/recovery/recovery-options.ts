import { describeValue } from '../errors/describe-value.js';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import type { CatalogueChannel } from '../events/realtime-catalogue.js';

/** How much of a room's stream is kept so a client that reconnects can catch up. */
export interface ChannelHistory {
  /** Most messages kept per room; 0 keeps none (recovery then sends the current state). */
  readonly size: number;
  /** Longest a message is kept, in milliseconds. */
  readonly ageMs: number;
}

/** Options of stream positions and recovery (`subscribe` with `since`). */
export interface RealtimeRecoveryOptions {
  /**
   * History per channel name, or `private` for every private channel without an entry of its
   * own; `false` or a size of 0 turns a channel's history off. Defaults: private channels
   * 1,000 messages / 5 minutes, `trades` 1,000 / 1 minute, every other channel off (order
   * books recover by a snapshot, tickers and klines by their last value).
   */
  history?: Readonly<Record<string, ChannelHistory | false>>;
  /**
   * Most messages the in-memory history holds over all rooms (a single instance, or this
   * instance while Redis is away); the least recently written rooms lose theirs first.
   * Default 200,000.
   */
  maxMemoryMessages?: number;
  /**
   * How long a quiet room's position is kept after its last message, so a client of a quiet
   * room recovers with nothing missed instead of starting over. Default 24 hours.
   */
  positionTtlMs?: number;
}

/** The history key that sets every private channel's default. */
export const PRIVATE_HISTORY = 'private';

export const DEFAULT_HISTORY: Readonly<Record<string, ChannelHistory>> = {
  [PRIVATE_HISTORY]: { size: 1000, ageMs: 5 * 60_000 },
  trades: { size: 1000, ageMs: 60_000 },
};

export const NO_HISTORY: ChannelHistory = { size: 0, ageMs: 0 };

export const MAX_HISTORY_SIZE = 100_000;
export const MAX_HISTORY_AGE_MS = 24 * 3_600_000;

/** The recovery options with defaults applied and checked. */
export interface ResolvedRecovery {
  /** By channel name or `private`; off channels are absent or size 0. */
  readonly history: ReadonlyMap<string, ChannelHistory>;
  readonly maxMemoryMessages: number;
  readonly positionTtlMs: number;
}

export function resolveRecovery(options: RealtimeRecoveryOptions = {}): ResolvedRecovery {
  const history = new Map<string, ChannelHistory>(Object.entries(DEFAULT_HISTORY));
  for (const [name, value] of Object.entries(options.history ?? {})) {
    if (value === false) {
      history.set(name, NO_HISTORY);
      continue;
    }
    const option = `recovery.history.${name}`;
    if (typeof value !== 'object' || value === null)
      throw new RealtimeOptionsError(option, 'must be { size, ageMs } or false');
    history.set(name, {
      size: checkedInteger(`${option}.size`, value.size, 0, MAX_HISTORY_SIZE),
      ageMs: checkedInteger(`${option}.ageMs`, value.ageMs, 1, MAX_HISTORY_AGE_MS),
    });
  }
  return {
    history,
    maxMemoryMessages: checkedInteger(
      'recovery.maxMemoryMessages',
      options.maxMemoryMessages ?? 200_000,
      0,
      100_000_000,
    ),
    positionTtlMs: checkedInteger(
      'recovery.positionTtlMs',
      options.positionTtlMs ?? 24 * 3_600_000,
      1000,
      30 * 24 * 3_600_000,
    ),
  };
}

function checkedInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new RealtimeOptionsError(
      option,
      `must be an integer from ${min} to ${max}, got ${describeValue(value)}`,
    );
  return value;
}

const ORDER_BOOK_CHANNEL = 'orderbook';

/**
 * Each channel's history, from the options and the merged catalogue; throws the options
 * error for a name that is no channel, or for order-book history (a book recovers by snapshot).
 */
export function channelHistories(
  recovery: ResolvedRecovery,
  channels: Iterable<CatalogueChannel>,
): Map<string, ChannelHistory> {
  const known = [...channels];
  for (const [name, { size }] of recovery.history) {
    if (name === ORDER_BOOK_CHANNEL && size > 0)
      throw new RealtimeOptionsError(
        `recovery.history.${name}`,
        'order books recover by a snapshot and keep no history; leave it out',
      );
    if (name !== PRIVATE_HISTORY && !known.some((channel) => channel.name === name))
      throw new RealtimeOptionsError(
        `recovery.history.${name}`,
        `names no channel; channels: ${known.map((c) => c.name).join(', ')} (or "${PRIVATE_HISTORY}" for every private channel)`,
      );
  }
  const histories = new Map<string, ChannelHistory>();
  for (const channel of known) {
    const chosen =
      recovery.history.get(channel.name) ??
      (channel.private ? recovery.history.get(PRIVATE_HISTORY) : undefined) ??
      NO_HISTORY;
    histories.set(channel.name, chosen.size > 0 ? chosen : NO_HISTORY);
  }
  return histories;
}
