/**
 * The contract between the request relay (which validates a client's `request`, limits its
 * rate, remembers answers for idempotency and bounds its wait) and the ways a request reaches
 * the backend: an HTTP call, a Kafka topic, or a provider of the host app.
 */

/** A client's request as the backend sees it: the user is the one the gateway verified. */
export interface RelayedRequest {
  /** The declared method, e.g. `order.place`. */
  readonly method: string;
  /** The params, already checked against the method's schema. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The verified user id (from the token), never one the client sent; null when anonymous. */
  readonly userId: string | null;
  /** The client's `requestId`, or one the gateway made; the backend may use it to deduplicate. */
  readonly requestId: string;
  /** The connection that asked (Socket.IO id), for the backend's logs. */
  readonly connectionId: string;
  /** The gateway instance that asked; Kafka replies are routed back to it. */
  readonly instanceId: string;
  /** When the relay stops waiting (ms since epoch); the backend may give up after it. */
  readonly deadline: number;
}

/** The backend's refusal of a request, passed to the client as it is. */
export interface BackendRefusal {
  /** A code of the backend's own (e.g. `INSUFFICIENT_FUNDS`), or one of the gateway's. */
  readonly code: string;
  readonly message: string;
}

/** What a backend answered: a result or a refusal. */
export type BackendAnswer =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: BackendRefusal };

/**
 * One way to the backend. `send` settles with the backend's answer; it rejects with
 * `BackendUnavailable` when the backend could not be reached (HTTP connection refused or 5xx,
 * Kafka producer down), and the relay answers the client `UNAVAILABLE`. Past the deadline the
 * relay answers `TIMEOUT` itself and ignores a late answer; `signal` aborts at that moment.
 */
export interface RequestTransport {
  send(request: RelayedRequest, signal: AbortSignal): Promise<BackendAnswer>;
  /** Releases connections and consumers at shutdown. */
  close?(): Promise<void>;
}

/** The backend could not be reached; the message says why (for logs, not for clients). */
export class BackendUnavailable extends Error {
  override readonly name = 'BackendUnavailable';
}
