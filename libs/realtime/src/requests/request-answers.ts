import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import type { BackendAnswer } from './request-transport.js';

/**
 * How a relayed request ended: the backend's answer, or the gateway's own failure
 * (`TIMEOUT`, `UNAVAILABLE`, `INTERNAL`), which is not remembered, so that a retry with the
 * same `requestId` reaches the backend again (and the backend may deduplicate on the id).
 */
export type RequestOutcome =
  | { readonly answered: BackendAnswer }
  | { readonly failed: { readonly code: string; readonly message: string } };

/** What claiming a request's key gave: the caller relays it, or an earlier outcome stands. */
export type RequestClaim =
  { readonly claimed: true } | { readonly claimed: false; readonly outcome: RequestOutcome };

/**
 * The first outcome of each (user, method, requestId), for `windowMs`: the idempotency of
 * client requests. A key is claimed by the first request; a duplicate while it is in flight
 * waits for its outcome, and one after gets the remembered answer.
 */
export interface RequestAnswers {
  /**
   * Claims `key` or waits for the outcome of the request that holds it, until `deadline`
   * (ms since epoch); past it a duplicate fails `TIMEOUT` like the first would.
   */
  claim(key: string, deadline: number): Promise<RequestClaim>;
  /** Ends a claim: a backend's answer is kept for the window, a failure frees the key. */
  settle(key: string, outcome: RequestOutcome): void;
}

/** Most keys one instance remembers; past it the oldest go first (the window shrinks). */
export const MAX_REMEMBERED_REQUESTS = 100_000;

interface Remembered {
  /** The outcome, or the promise of it while the first request is in flight. */
  outcome: RequestOutcome | Promise<RequestOutcome>;
  settle?: (outcome: RequestOutcome) => void;
  expiresAt: number;
}

/**
 * This instance's answers. A Map keeps insertion order, so the oldest entries are first:
 * expiry and the bound both drop from the front, with no timer per entry.
 */
export class MemoryRequestAnswers implements RequestAnswers {
  private readonly entries = new Map<string, Remembered>();

  constructor(
    private readonly windowMs: number,
    private readonly limit = MAX_REMEMBERED_REQUESTS,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  claim(key: string, deadline: number): Promise<RequestClaim> {
    return Promise.resolve(this.claimNow(key, deadline));
  }

  /** The synchronous part of `claim`, so the relay's local path allocates no extra promise. */
  claimNow(key: string, deadline: number): RequestClaim | Promise<RequestClaim> {
    const now = Date.now();
    this.expire(now);
    const entry = this.entries.get(key);
    if (entry === undefined) {
      const created: Remembered = { outcome: undefined!, expiresAt: now + this.windowMs };
      created.outcome = new Promise<RequestOutcome>((resolve) => (created.settle = resolve));
      this.entries.set(key, created);
      while (this.entries.size > this.limit) this.dropOldest();
      return { claimed: true };
    }
    if (!(entry.outcome instanceof Promise)) return { claimed: false, outcome: entry.outcome };
    return waitUntil(entry.outcome, deadline).then((outcome) => ({ claimed: false, outcome }));
  }

  settle(key: string, outcome: RequestOutcome): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.settle?.(outcome);
    entry.settle = undefined;
    if ('answered' in outcome) {
      entry.outcome = outcome;
      // Kept a full window from the answer: a retry right after a slow answer finds it.
      this.entries.delete(key);
      entry.expiresAt = Date.now() + this.windowMs;
      this.entries.set(key, entry);
    } else this.entries.delete(key);
  }

  private expire(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) return;
      // One in flight past the window stays until it settles.
      if (entry.outcome instanceof Promise) return;
      this.entries.delete(key);
    }
  }

  private dropOldest(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}

/** Fails `TIMEOUT` at the deadline; the awaited promise keeps going for the first request. */
export function waitUntil(
  outcome: Promise<RequestOutcome>,
  deadline: number,
): Promise<RequestOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<RequestOutcome>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT_WAITING), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([outcome, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads until `read` gives an outcome (or undefined: nothing is held any more), every
 * `everyMs`; `TIMEOUT` at the deadline.
 */
export async function waitUntilPolled(
  read: () => Promise<RequestOutcome | null | undefined>,
  deadline: number,
  everyMs: number,
): Promise<RequestOutcome | undefined> {
  for (;;) {
    const outcome = await read();
    if (outcome !== null) return outcome;
    const left = deadline - Date.now();
    if (left <= 0) return TIMED_OUT_WAITING;
    await new Promise((resolve) => setTimeout(resolve, Math.min(everyMs, left)));
  }
}

const TIMED_OUT_WAITING: RequestOutcome = {
  failed: {
    code: RealtimeErrorCode.Timeout,
    message: 'the first request with this requestId is still waiting for its backend',
  },
};
