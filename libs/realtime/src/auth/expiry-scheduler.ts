/** Clock and timer functions, replaceable in tests. */
export interface SchedulerClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(timer: NodeJS.Timeout): void;
}

const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

/** Deadlines are grouped by whole second; JWT `exp` is whole seconds anyway. */
const BUCKET_MS = 1000;

/**
 * The longest delay setTimeout keeps (2^31 - 1 ms, 24.8 days). A longer one fires after 1 ms
 * with a TimeoutOverflowWarning, so a far deadline is reached in steps of at most this.
 */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `onExpire(item)` when an item's deadline passes. All items share one timer,
 * armed for the earliest second that has a deadline, so 100,000 connections cost one
 * timer, not 100,000. A deadline further than MAX_TIMER_DELAY_MS ahead is waited for in
 * steps: the timer wakes, finds nothing due and arms again.
 */
export class ExpiryScheduler<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private readonly bucketOf = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly clock: SchedulerClock = systemClock,
  ) {}

  /** Sets (or moves) the item's deadline, in milliseconds since the epoch. */
  schedule(item: T, deadline: number): void {
    this.cancel(item);
    const bucket = Math.ceil(deadline / BUCKET_MS) * BUCKET_MS;
    let items = this.buckets.get(bucket);
    if (!items) this.buckets.set(bucket, (items = new Set()));
    items.add(item);
    this.bucketOf.set(item, bucket);
    if (bucket < this.timerAt) this.arm(bucket);
  }

  cancel(item: T): void {
    const bucket = this.bucketOf.get(item);
    if (bucket === undefined) return;
    this.bucketOf.delete(item);
    const items = this.buckets.get(bucket)!;
    items.delete(item);
    if (items.size === 0) this.buckets.delete(bucket);
    if (this.bucketOf.size === 0) this.disarm();
  }

  /** Items waiting for their deadline. */
  get size(): number {
    return this.bucketOf.size;
  }

  /** Whether the shared timer is armed (it is only while items wait). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  dispose(): void {
    this.disarm();
    this.buckets.clear();
    this.bucketOf.clear();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    for (const [bucket, items] of [...this.buckets]) {
      if (bucket > now) continue;
      this.buckets.delete(bucket);
      for (const item of items) {
        this.bucketOf.delete(item);
        this.onExpire(item);
      }
    }
    let next = Infinity;
    for (const bucket of this.buckets.keys()) if (bucket < next) next = bucket;
    if (next !== Infinity) this.arm(next);
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    const delay = Math.min(Math.max(0, at - this.clock.now()), MAX_TIMER_DELAY_MS);
    this.timer = this.clock.setTimeout(() => this.fire(), delay);
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
