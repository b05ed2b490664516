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
 * - `CLOSED`: the client was closed before the answer (or before the call).
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
  /** The connection it was last sent on; undefined before it was sent or while held. */
  sentOn: number | undefined;
  /** How many times it was sent. */
  sends: number;
  /** Set while it waits to be sent again after a refusal of a repeat (see `online`). */
  retry: ReturnType<typeof setTimeout> | undefined;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: RealtimeRequestError) => void;
}

/**
 * Sends one request body; `onAnswer` is called with the gateway's answer (at most once, and
 * never when the connection was lost first).
 */
export type SendRequest = (body: RequestBody, onAnswer: (answer: RequestAnswer) => void) => void;

export interface PendingRequestsOptions {
  /** Most requests waiting for their answer; past it `request` rejects `TOO_MANY_PENDING`. */
  maxPending?: number;
  /**
   * Most requests sent and unanswered on one connection (the gateway answers `RATE_LIMITED`
   * past 16); the others wait their turn, in order. Default 16.
   */
  maxInFlight?: number;
  /** Makes a request id; default `newRequestId`. */
  makeId?: () => string;
}

/** The gateway's cap of requests waiting per connection, the client's default too. */
export const DEFAULT_MAX_IN_FLIGHT = 16;
/** The first wait before a repeat refused RATE_LIMITED goes again; doubled each time, to 4 s. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 4000;

/**
 * The requests waiting for their answer. `online(connection)` is told of every new connection
 * (a number that changes with each), `offline()` of every loss; a request is sent when online
 * (at most `maxInFlight` at once per connection), and again on each new connection while it
 * has no answer.
 *
 * A repeat (a request sent again after its connection was lost) that the gateway refuses
 * `RATE_LIMITED` is not rejected: the first send may have reached the backend, so the caller
 * could not tell what happened. It goes again a little later, with the same `requestId`, until
 * the gateway answers it (the first answer, if there was one) or its deadline passes.
 */
export class PendingRequests {
  private readonly pending = new Set<Pending>();
  private connection: number | undefined;
  private closed = false;
  private readonly maxPending: number;
  private readonly maxInFlight: number;
  private readonly makeId: () => string;

  constructor(
    private readonly send: SendRequest,
    options: PendingRequestsOptions = {},
  ) {
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_REQUESTS;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.makeId = options.makeId ?? newRequestId;
  }

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
    if (this.closed) return refuse('CLOSED', 'the client was closed');
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
        sends: 0,
        retry: undefined,
        resolve,
        reject,
        timer: setTimeout(
          () => this.fail(entry, 'TIMEOUT', `no answer to ${method} within ${timeoutMs} ms`),
          timeoutMs,
        ),
      };
      this.pending.add(entry);
      this.pump();
    });
  }

  /** A new connection is ready: every request without an answer is sent (again) on it. */
  online(connection: number): void {
    this.connection = connection;
    this.pump();
  }

  /** The connection is lost: requests wait for the next one. */
  offline(): void {
    this.connection = undefined;
  }

  /** Rejects every waiting request with `code`, and every later one (the client was closed). */
  close(code = 'CLOSED', message = 'the client was closed'): void {
    this.closed = true;
    this.connection = undefined;
    for (const entry of [...this.pending]) this.fail(entry, code, message);
  }

  private pumping = false;
  private pumpAgain = false;

  /** Sends, in order, what this connection has not had yet, up to `maxInFlight` unanswered. */
  private pump(): void {
    // An answer given while sending (a send that answers at once) pumps after this turn.
    if (this.pumping) return void (this.pumpAgain = true);
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    let inFlight = 0;
    for (const entry of this.pending) if (entry.sentOn === connection) inFlight++;
    for (const entry of this.pending) {
      if (inFlight >= this.maxInFlight) return;
      if (entry.sentOn === connection || entry.retry !== undefined) continue;
      this.sendOn(entry, connection);
      inFlight++;
    }
  }

  private sendOn(entry: Pending, connection: number): void {
    entry.sentOn = connection;
    entry.sends += 1;
    this.send(entry.body, (answer) => {
      // An answer to an earlier send (or after the deadline) is not this request's any more.
      if (!this.pending.has(entry)) return;
      const code = answer?.ok === true ? undefined : answer?.error?.code;
      if (code === 'RATE_LIMITED' && entry.sends > 1) return this.retryLater(entry);
      this.settle(entry);
      if (answer?.ok === true) entry.resolve(answer.result);
      else if (typeof code === 'string')
        entry.reject(this.errorOf(entry, code, answer.error.message));
      else
        entry.reject(
          this.errorOf(entry, 'INTERNAL', 'the gateway answered without a result or an error'),
        );
      this.pump();
    });
  }

  /** A repeat refused RATE_LIMITED: held a while, then sent again (see the class). */
  private retryLater(entry: Pending): void {
    entry.sentOn = undefined;
    const wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, entry.sends - 2));
    entry.retry = setTimeout(() => {
      entry.retry = undefined;
      this.pump();
    }, wait);
    this.pump();
  }

  private fail(entry: Pending, code: string, message: string): void {
    if (!this.pending.has(entry)) return;
    this.settle(entry);
    entry.reject(this.errorOf(entry, code, message));
    this.pump();
  }

  private errorOf(entry: Pending, code: string, message: string): RealtimeRequestError {
    return new RealtimeRequestError(code, message, entry.body.method, entry.body.requestId);
  }

  private settle(entry: Pending): void {
    this.pending.delete(entry);
    clearTimeout(entry.timer);
    clearTimeout(entry.retry);
  }
}
