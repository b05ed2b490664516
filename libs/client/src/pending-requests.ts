/**
 * The client's side of the `request` command: calls of backend methods over the live
 * connection, each kept until its answer or its deadline, and sent again with the same
 * `requestId` on every new connection until then (the gateway answers a repeated id with
 * the first answer, without calling the backend again, so a retry is safe).
 */

/** A `requestId` as the gateway takes it: 1-64 of A-Z a-z 0-9 _ . : - */
export const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
/** How long `request()` waits for an answer, over every reconnect, by default. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** How many requests may wait for their answer at once, by default. */
export const DEFAULT_MAX_PENDING_REQUESTS = 100;

/** What the client sends as the `request` event's body. */
export interface RequestBody {
  method: string;
  params?: object;
  requestId: string;
}

/** The gateway's answer to a `request`. */
export type RequestAnswer =
  | { ok: true; method: string; requestId: string; result: unknown }
  | {
      ok: false;
      command?: 'request';
      method?: string;
      requestId?: string;
      error: { code: string; message: string };
    };

/** Options of one `request()`. */
export interface RequestOptions {
  /** The id the gateway deduplicates by (1-64 of A-Z a-z 0-9 _ . : -). Default: a new UUID. */
  requestId?: string;
  /** How long to wait for the answer, reconnects included, before rejecting `TIMEOUT`. Default 10 s. */
  timeoutMs?: number;
}

/**
 * A request that did not succeed: the gateway's or the backend's refusal (`code` as
 * answered: `INSUFFICIENT_FUNDS`, `RATE_LIMITED`, `FORBIDDEN`, ...), or the client's own:
 * - `TIMEOUT`: no answer within `timeoutMs` (the backend may still have acted: sending the
 *   same `requestId` again within the gateway's idempotency window gets its answer);
 * - `TOO_MANY_PENDING`: `maxPendingRequests` requests were already waiting;
 * - `INVALID_PAYLOAD`: a `requestId` or `timeoutMs` the client cannot send;
 * - `CLOSED`: the client was closed before the answer.
 */
export class RealtimeRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly method: string,
    readonly requestId: string,
  ) {
    super(message);
    this.name = 'RealtimeRequestError';
  }
}

/** A new request id: a UUID where the platform makes one, else random enough for one user. */
export function newRequestId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  // randomUUID exists only in secure contexts (https, localhost) of browsers.
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  const random = () => Math.floor(Math.random() * 2 ** 32).toString(36);
  return `r-${Date.now().toString(36)}-${random()}${random()}`;
}

interface Pending {
  readonly body: RequestBody;
  /** The connection it was last sent on; undefined before it was sent. */
  sentOn: number | undefined;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: RealtimeRequestError) => void;
}

/**
 * Sends one request body; `onAnswer` is called with the gateway's answer (at most once, and
 * never when the connection was lost first).
 */
export type SendRequest = (body: RequestBody, onAnswer: (answer: RequestAnswer) => void) => void;

/**
 * The requests waiting for their answer. `online(connection)` is told of every new connection
 * (a number that changes with each), `offline()` of every loss; a request is sent at once
 * when online, and again on each new connection while it has no answer.
 */
export class PendingRequests {
  private readonly pending = new Set<Pending>();
  private connection: number | undefined;

  constructor(
    private readonly send: SendRequest,
    private readonly maxPending = DEFAULT_MAX_PENDING_REQUESTS,
    private readonly makeId: () => string = newRequestId,
  ) {}

  /** How many requests wait for their answer. */
  get size(): number {
    return this.pending.size;
  }

  /** Resolves with the answer's `result`; rejects with a `RealtimeRequestError`. */
  request(method: string, params?: object, options: RequestOptions = {}): Promise<unknown> {
    const requestId = options.requestId ?? this.makeId();
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const refuse = (code: string, message: string) =>
      Promise.reject(new RealtimeRequestError(code, message, method, requestId));
    if (typeof requestId !== 'string' || !REQUEST_ID.test(requestId))
      return refuse('INVALID_PAYLOAD', 'requestId must be 1-64 of A-Z a-z 0-9 _ . : -');
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      return refuse('INVALID_PAYLOAD', 'timeoutMs must be a positive number of milliseconds');
    if (this.pending.size >= this.maxPending)
      return refuse(
        'TOO_MANY_PENDING',
        `${this.maxPending} requests are already waiting for their answer`,
      );
    return new Promise((resolve, reject) => {
      const body: RequestBody =
        params === undefined ? { method, requestId } : { method, params, requestId };
      const entry: Pending = {
        body,
        sentOn: undefined,
        resolve,
        reject,
        timer: setTimeout(
          () => this.fail(entry, 'TIMEOUT', `no answer to ${method} within ${timeoutMs} ms`),
          timeoutMs,
        ),
      };
      this.pending.add(entry);
      if (this.connection !== undefined) this.sendOn(entry, this.connection);
    });
  }

  /** A new connection is ready: every request without an answer is sent (again) on it. */
  online(connection: number): void {
    this.connection = connection;
    for (const entry of [...this.pending])
      if (entry.sentOn !== connection) this.sendOn(entry, connection);
  }

  /** The connection is lost: requests wait for the next one. */
  offline(): void {
    this.connection = undefined;
  }

  /** Rejects every waiting request with `code` (the client was closed). */
  close(code = 'CLOSED', message = 'the client was closed'): void {
    this.connection = undefined;
    for (const entry of [...this.pending]) this.fail(entry, code, message);
  }

  private sendOn(entry: Pending, connection: number): void {
    entry.sentOn = connection;
    this.send(entry.body, (answer) => {
      // An answer to an earlier send (or after the deadline) is not this request's any more.
      if (!this.pending.has(entry)) return;
      this.settle(entry);
      if (answer?.ok === true) return entry.resolve(answer.result);
      const { code, message } =
        typeof answer?.error?.code === 'string'
          ? answer.error
          : { code: 'INTERNAL', message: 'the gateway answered without a result or an error' };
      entry.reject(
        new RealtimeRequestError(code, message, entry.body.method, entry.body.requestId),
      );
    });
  }

  private fail(entry: Pending, code: string, message: string): void {
    if (!this.pending.has(entry)) return;
    this.settle(entry);
    entry.reject(new RealtimeRequestError(code, message, entry.body.method, entry.body.requestId));
  }

  private settle(entry: Pending): void {
    this.pending.delete(entry);
    clearTimeout(entry.timer);
  }
}
