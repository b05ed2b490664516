import { describe, expect, it } from '@jest/globals';
import { ExpiryScheduler, type SchedulerClock } from './expiry-scheduler.js';

/** What Node's setTimeout can hold; past it a timer fires after 1 ms. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A clock whose time and timers move only when the test says so. */
class ManualClock implements SchedulerClock {
  time = 1_000_000;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;
  /** Every delay a timer was armed with, in order. */
  readonly delays: number[] = [];

  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout {
    this.delays.push(ms);
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, callback });
    return id as unknown as NodeJS.Timeout;
  }
  clearTimeout(timer: NodeJS.Timeout): void {
    this.timers.delete(timer as unknown as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.timers]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = until;
  }
}

function setup() {
  const clock = new ManualClock();
  const expired: string[] = [];
  const scheduler = new ExpiryScheduler<string>((item) => expired.push(item), clock);
  return { clock, expired, scheduler };
}

describe('ExpiryScheduler', () => {
  it('expires items at their deadline, earliest first, with one timer for all', () => {
    const { clock, expired, scheduler } = setup();
    for (let i = 0; i < 1000; i++) scheduler.schedule(`late-${i}`, clock.time + 5000);
    scheduler.schedule('early', clock.time + 2000);
    expect(clock.pending).toBe(1);
    clock.advance(1999);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual(['early']);
    expect(clock.pending).toBe(1);
    clock.advance(3000);
    expect(expired).toHaveLength(1001);
    expect(scheduler.size).toBe(0);
    expect(scheduler.armed).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('moves an item when it is scheduled again, and forgets cancelled ones', () => {
    const { clock, expired, scheduler } = setup();
    scheduler.schedule('a', clock.time + 1000);
    scheduler.schedule('b', clock.time + 1000);
    scheduler.schedule('a', clock.time + 10_000);
    scheduler.cancel('b');
    clock.advance(5000);
    expect(expired).toEqual([]);
    clock.advance(5000);
    expect(expired).toEqual(['a']);
  });

  it('disarms its timer when the last item is cancelled', () => {
    const { clock, scheduler } = setup();
    scheduler.schedule('a', clock.time + 1000);
    scheduler.cancel('a');
    expect(scheduler.armed).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('expires a deadline already past at once', () => {
    const { clock, expired, scheduler } = setup();
    scheduler.schedule('a', clock.time - 10_000);
    clock.advance(0);
    expect(expired).toEqual(['a']);
  });

  it('rounds deadlines up to the whole second, never early', () => {
    const { clock, expired, scheduler } = setup();
    scheduler.schedule('a', clock.time + 1500);
    clock.advance(1499);
    expect(expired).toEqual([]);
    clock.advance(501);
    expect(expired).toEqual(['a']);
  });

  it('waits for a deadline 30 days ahead in timer steps setTimeout can hold, firing nothing early', () => {
    const { clock, expired, scheduler } = setup();
    const deadline = clock.time + 30 * DAY_MS;
    scheduler.schedule('far', deadline);
    expect(clock.pending).toBe(1);
    expect(clock.delays).toEqual([LONGEST_TIMER_MS]);
    clock.advance(LONGEST_TIMER_MS);
    expect(expired).toEqual([]);
    expect(scheduler.armed).toBe(true);
    expect(clock.pending).toBe(1);
    expect(clock.delays).toEqual([LONGEST_TIMER_MS, deadline - clock.time]);
    clock.advance(deadline - clock.time - 1);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual(['far']);
    expect(clock.pending).toBe(0);
  });

  it('keeps a nearer deadline on time while a far one waits', () => {
    const { clock, expired, scheduler } = setup();
    scheduler.schedule('far', clock.time + 60 * DAY_MS);
    scheduler.schedule('near', clock.time + 5000);
    expect(clock.pending).toBe(1);
    clock.advance(5000);
    expect(expired).toEqual(['near']);
    expect(clock.delays.every((ms) => ms >= 0 && ms <= LONGEST_TIMER_MS)).toBe(true);
    clock.advance(60 * DAY_MS - 5000);
    expect(expired).toEqual(['near', 'far']);
    expect(clock.delays.every((ms) => ms >= 0 && ms <= LONGEST_TIMER_MS)).toBe(true);
  });

  it('arms one real timer for a deadline 30 days ahead, and it does not fire early', async () => {
    // Node's own timers, counted: an overflowing delay would fire after 1 ms and arm again.
    const delays: number[] = [];
    const realClock: SchedulerClock = {
      now: () => Date.now(),
      setTimeout: (callback, ms) => {
        delays.push(ms);
        return setTimeout(callback, ms);
      },
      clearTimeout: (timer) => clearTimeout(timer),
    };
    const expired: string[] = [];
    const scheduler = new ExpiryScheduler<string>((item) => expired.push(item), realClock);
    try {
      scheduler.schedule('far', Date.now() + 30 * DAY_MS);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(delays).toEqual([LONGEST_TIMER_MS]);
      expect(expired).toEqual([]);
      expect(scheduler.armed).toBe(true);
    } finally {
      scheduler.dispose();
    }
  });
});
