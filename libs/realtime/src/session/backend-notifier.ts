import { Logger } from '@nestjs/common';
import { CountedLog } from '../metrics/counted-log.js';
import type { UserDisconnectedNotice } from './user-disconnected-notice.js';

/** How one delivery ended, or that it will be tried again. */
export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

export interface BackendNotifierOptions {
  readonly url: string;
  readonly secret: string;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly timeoutMs: number;
  /** Told each outcome (metrics). */
  readonly counted: (outcome: DeliveryOutcome) => void;
}

/** The header the backend checks; its value is `deadManSwitch.secret`. */
export const SECRET_HEADER = 'X-Realtime-Secret';
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * POSTs notices to the backend: JSON body, the shared secret header, a timeout per attempt,
 * and a bounded number of retries with doubling delays for failures a retry can mend
 * (network errors, timeouts, 408, 429, 5xx); any other answer fails at once. Each kind of
 * failure is logged once; every attempt is counted. Never rejects.
 */
export class BackendNotifier {
  private readonly failures = new CountedLog(new Logger('DeadManSwitch'));
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;

  constructor(private readonly options: BackendNotifierOptions) {}

  /** Delivers in the background; `settled` waits for it. */
  send(notice: UserDisconnectedNotice): void {
    const delivery = this.deliver(notice);
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Resolves once every delivery under way ended, or after `ms`, whichever is first. */
  async settled(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.inFlight]),
      new Promise((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  /** Deliveries still under way (for tests and operators). */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Failures seen, by kind (for tests and operators). */
  failureCounts(): ReadonlyMap<string, number> {
    return this.failures.counts();
  }

  /** No retry starts after this (a waiting one fails now); attempts under way end by their timeout. */
  stop(): void {
    this.stopped = true;
    for (const wake of [...this.sleepers]) wake();
  }

  private async deliver(notice: UserDisconnectedNotice): Promise<void> {
    const body = JSON.stringify(notice);
    for (let attempt = 0; ; attempt++) {
      const failure = await this.attempt(body);
      if (failure === undefined) return this.options.counted('delivered');
      this.failures.record(
        failure.kind,
        () => `Dead-man notice to ${this.options.url}: ${failure.message}`,
      );
      if (!failure.retriable || attempt >= this.options.retries || this.stopped) {
        this.options.counted('failed');
        this.failures.record(
          'gave up',
          () =>
            `Dead-man notice for user ${notice.userId} not delivered after ${attempt + 1} attempts (${failure.message}); see realtime_dead_man_switch_total{outcome="failed"} for the others`,
        );
        return;
      }
      this.options.counted('retried');
      await this.pause(Math.min(this.options.retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS));
      if (this.stopped) return this.options.counted('failed');
    }
  }

  /** Waits before a retry; `stop` ends every wait at once. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private async attempt(
    body: string,
  ): Promise<{ kind: string; message: string; retriable: boolean } | undefined> {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SECRET_HEADER]: this.options.secret },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
      // The answer's body is not read; releasing it frees the connection.
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) return undefined;
      const { status } = response;
      return {
        kind: `status ${status}`,
        message: `answered ${status}`,
        retriable: status === 408 || status === 429 || status >= 500,
      };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      const name = (error as Error).name;
      if (name === 'TimeoutError')
        return {
          kind: 'timeout',
          message: `no answer within ${this.options.timeoutMs} ms`,
          retriable: true,
        };
      const code = cause?.code ?? name;
      return { kind: code, message: `${(error as Error).message} (${code})`, retriable: true };
    }
  }
}
