/** The `exp` of a JWT in milliseconds, read without verifying (the server verifies); undefined if none. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json =
      typeof atob === 'function' ? atob(base64) : Buffer.from(base64, 'base64').toString('binary');
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The longest delay setTimeout keeps; a longer one fires after 1 ms (TimeoutOverflowWarning). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * How long to wait before refreshing a token that expires at `expiresAt` (ms since the epoch):
 * `refreshBeforeMs` ahead of it, never negative, and never longer than setTimeout can hold
 * (24.8 days), because a longer delay fires at once and the client would refresh in a loop.
 * A token valid for longer is refreshed early, and that refresh schedules the next one.
 */
export function refreshDelay(expiresAt: number, now: number, refreshBeforeMs: number): number {
  return Math.min(Math.max(0, expiresAt - now - refreshBeforeMs), LONGEST_TIMER_MS);
}
