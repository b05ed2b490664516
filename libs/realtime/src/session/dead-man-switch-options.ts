import { RealtimeOptionsError } from '../errors/realtime-options.error.js';

/**
 * Cancel-on-disconnect (a dead-man's switch): when a signed-in user's last connection closes,
 * cluster-wide, and that user had asked for it, the backend is told so it can cancel the
 * user's open orders. A connection asks with `auth: { token, cancelOnDisconnect: true }`.
 * The notice `{ userId, reason, lastConnectionId, at }` goes to `url` (when set) and is
 * emitted on EventEmitter2 as `realtime.user.disconnected` on the one instance that fired.
 */
export interface DeadManSwitchOptions {
  /**
   * Where the notice is POSTed as JSON (`http:` or `https:`). Unset: the notice is only
   * emitted on EventEmitter2, for a host app's own listener.
   */
  url?: string;
  /**
   * Sent as the `X-Realtime-Secret` header of every POST so the backend knows the call is
   * the gateway's. Required with `url`, at least 16 characters.
   */
  secret?: string;
  /**
   * How long after the last close the switch waits before it fires; a connection of the
   * same user that opens within it (on any instance) cancels it. Set it longer than your
   * clients take to reconnect, or every restart of an instance fires the switch for each
   * armed user on it. Default 0 (fire at once).
   */
  graceMs?: number;
  /** Further attempts after a failed POST (network error, timeout, 408, 429, 5xx). Default 3. */
  retries?: number;
  /** Wait before the first retry; each further retry waits twice as long, at most 30 s. Default 500. */
  retryDelayMs?: number;
  /** Longest one POST may take before it counts as failed. Default 5000. */
  timeoutMs?: number;
  /**
   * With Redis: how often each instance says it is alive, sweeps instances that stopped
   * saying so, and fires notices whose grace ran out. Default 2000.
   */
  heartbeatMs?: number;
  /**
   * With Redis: how long an instance may stay silent before the others treat it as dead and
   * fire the switch for users whose only connections were on it. Also how long an instance
   * waits, after Redis came back empty (restarted without its data), for every live
   * instance to re-register its connections before it decides closes made during the
   * outage. At least twice `heartbeatMs`. Default 10000.
   */
  instanceTimeoutMs?: number;
}

/** The options with defaults applied and checked once, at start-up. */
export interface ResolvedDeadManSwitch {
  readonly url: string | undefined;
  readonly secret: string | undefined;
  readonly graceMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly timeoutMs: number;
  readonly heartbeatMs: number;
  readonly instanceTimeoutMs: number;
}

export const MIN_SECRET_LENGTH = 16;

/** Checks the options; undefined when the switch is off (no `deadManSwitch` option). */
export function resolveDeadManSwitch(
  options: DeadManSwitchOptions | undefined,
): ResolvedDeadManSwitch | undefined {
  if (options === undefined) return undefined;
  const { url, secret } = options;
  if (url !== undefined) {
    if (!URL.canParse(url) || !['http:', 'https:'].includes(new URL(url).protocol))
      throw new RealtimeOptionsError('deadManSwitch.url', `must be an http(s) URL, got "${url}"`);
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH)
      throw new RealtimeOptionsError(
        'deadManSwitch.secret',
        `must be set with deadManSwitch.url, at least ${MIN_SECRET_LENGTH} characters`,
      );
  }
  const heartbeatMs = integer('heartbeatMs', options.heartbeatMs, 2000, 50, 60_000);
  const instanceTimeoutMs = integer(
    'instanceTimeoutMs',
    options.instanceTimeoutMs,
    Math.max(10_000, 2 * heartbeatMs),
    100,
    3_600_000,
  );
  if (instanceTimeoutMs < 2 * heartbeatMs)
    throw new RealtimeOptionsError(
      'deadManSwitch.instanceTimeoutMs',
      `must be at least twice heartbeatMs (${2 * heartbeatMs}), got ${instanceTimeoutMs}`,
    );
  return {
    url,
    secret: url === undefined ? undefined : secret,
    graceMs: integer('graceMs', options.graceMs, 0, 0, 3_600_000),
    retries: integer('retries', options.retries, 3, 0, 20),
    retryDelayMs: integer('retryDelayMs', options.retryDelayMs, 500, 1, 60_000),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 5000, 100, 120_000),
    heartbeatMs,
    instanceTimeoutMs,
  };
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RealtimeOptionsError(
      `deadManSwitch.${name}`,
      `must be an integer from ${min} to ${max}, got ${value}`,
    );
  return value;
}
