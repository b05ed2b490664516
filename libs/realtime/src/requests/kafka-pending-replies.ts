import { BackendUnavailable, type BackendAnswer } from './request-transport.js';

/** One request produced (or being produced) to Kafka, waiting for its reply. */
export interface PendingReply {
  /** Settles with the reply; the request leaves the pending set. */
  readonly promise: Promise<BackendAnswer>;
  /** Kafka acknowledged the record: from now on an abort means the backend did not answer in time. */
  sent(): void;
}

interface Waiter {
  resolve(answer: BackendAnswer): void;
  reject(error: unknown): void;
}

/**
 * The requests of one gateway instance waiting for their Kafka replies, by correlation id.
 * Bounded: past `limit` a send is refused at once rather than growing the map. An entry leaves
 * on its reply, on its signal, or on a failure, so nothing outlives the relay's deadline; a
 * reply that comes after finds nothing and is dropped.
 */
export class KafkaPendingReplies {
  private readonly waiters = new Map<string, Waiter>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.waiters.size;
  }

  has(correlationId: string): boolean {
    return this.waiters.has(correlationId);
  }

  /**
   * Waits for the reply of `correlationId` until `signal` aborts. An abort rejects with
   * BackendUnavailable while the record is not acknowledged yet (Kafka did not take it), and
   * with the signal's reason once it is (the backend got it and did not answer in time).
   */
  wait(correlationId: string, signal: AbortSignal): PendingReply {
    // An aborted signal fires no abort event: the request would wait for ever.
    if (signal.aborted)
      throw new BackendUnavailable('the deadline passed before the request was sent to Kafka');
    if (this.waiters.size >= this.limit)
      throw new BackendUnavailable(
        `${this.limit} requests are already waiting for Kafka replies on this instance`,
      );
    let sent = false;
    let waiter!: Waiter;
    const promise = new Promise<BackendAnswer>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(correlationId);
        reject(
          sent
            ? signal.reason
            : new BackendUnavailable('Kafka did not take the request before its deadline'),
        );
      };
      waiter = {
        resolve: (answer) => {
          signal.removeEventListener('abort', onAbort);
          resolve(answer);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    this.waiters.set(correlationId, waiter);
    return {
      promise,
      sent: () => {
        sent = true;
      },
    };
  }

  /** Settles the request with its reply; false when nothing waits for it (unknown or late). */
  settle(correlationId: string, answer: BackendAnswer): boolean {
    const waiter = this.take(correlationId);
    waiter?.resolve(answer);
    return waiter !== undefined;
  }

  fail(correlationId: string, error: Error): void {
    this.take(correlationId)?.reject(error);
  }

  failAll(error: Error): void {
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }

  private take(correlationId: string): Waiter | undefined {
    const waiter = this.waiters.get(correlationId);
    if (waiter !== undefined) this.waiters.delete(correlationId);
    return waiter;
  }
}
