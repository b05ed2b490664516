/**
 * At most one value per key per window: the first goes out at once, later ones within the
 * window replace each other, and the latest goes out when the window ends (which opens the
 * next window). The latest value is never dropped; a quiet key holds no timer.
 */
export class TickerConflator<T> {
  private readonly pending = new Map<string, T | undefined>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly windowMs: number,
    private readonly send: (value: T) => void,
  ) {}

  /** Sends now (true) or holds `value` for the window's end (false). */
  offer(key: string, value: T): boolean {
    if (this.timers.has(key)) {
      this.pending.set(key, value);
      return false;
    }
    this.openWindow(key);
    return true;
  }

  /** Keys inside a window right now. */
  get activeKeys(): number {
    return this.timers.size;
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
  }

  private openWindow(key: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(key);
      const latest = this.pending.get(key);
      this.pending.delete(key);
      if (latest !== undefined) {
        this.openWindow(key);
        this.send(latest);
      }
    }, this.windowMs);
    timer.unref?.();
    this.timers.set(key, timer);
  }
}
