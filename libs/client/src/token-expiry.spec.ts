import { describe, expect, it } from '@jest/globals';
import { refreshDelay, tokenExpiry } from './token-expiry.js';

/** What Node's and browsers' setTimeout can hold; past it a timer fires after 1 ms. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
const DAY_MS = 24 * 60 * 60 * 1000;

/** An unsigned JWT-shaped string: the client reads `exp` without verifying. */
function tokenWith(payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.signature`;
}

describe('refreshDelay', () => {
  const now = 1_700_000_000_000;

  it('refreshes refreshBeforeMs ahead of expiry', () => {
    expect(refreshDelay(now + 10 * 60_000, now, 30_000)).toBe(10 * 60_000 - 30_000);
  });

  it('refreshes at once a token that expires within refreshBeforeMs or has expired', () => {
    expect(refreshDelay(now + 10_000, now, 30_000)).toBe(0);
    expect(refreshDelay(now - DAY_MS, now, 30_000)).toBe(0);
  });

  it('never asks for a timer longer than setTimeout can hold, for a token 60 days ahead', () => {
    const delay = refreshDelay(now + 60 * DAY_MS, now, 30_000);
    expect(delay).toBe(LONGEST_TIMER_MS);
    expect(refreshDelay(now + 10_000 * DAY_MS, now, 30_000)).toBe(LONGEST_TIMER_MS);
  });

  it('gives a real timer for a 60-day token that does not fire early', async () => {
    const expiresAt = tokenExpiry(tokenWith({ exp: Math.floor(Date.now() / 1000) + 60 * 86_400 }));
    let fired = false;
    const timer = setTimeout(() => (fired = true), refreshDelay(expiresAt!, Date.now(), 30_000));
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fired).toBe(false);
    } finally {
      clearTimeout(timer);
    }
  });
});
