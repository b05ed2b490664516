import type { RelayedRequest } from './request-transport.js';

/**
 * A host app's in-process backend for one or more request methods (`backend: { provider }`).
 * It is one of the host's own providers, resolved from the host's module graph; the value
 * `handle` returns (or resolves to) is the `result` the client gets.
 */
export interface RealtimeRequestHandler {
  /**
   * Answers one request. `request.userId` is the verified user's (null when the method allows
   * anonymous callers); `request.params` are already checked against the method's schema.
   * Throw `RequestRefused` to refuse with a code of your own; any other throw answers the
   * client `INTERNAL` (logged once per kind, never crashing the gateway).
   */
  handle(request: RelayedRequest): unknown | Promise<unknown>;
}

/**
 * A handler's refusal, passed to the client as `{ ok: false, error: { code, message } }`
 * with the handler's own code (e.g. `INSUFFICIENT_FUNDS`).
 */
export class RequestRefused extends Error {
  override readonly name = 'RequestRefused';

  constructor(
    /** The code the client gets, e.g. `INSUFFICIENT_FUNDS`; the backend's own vocabulary. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
