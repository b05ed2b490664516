import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { RealtimeException } from '../errors/realtime.exception.js';
import { describeValue } from '../errors/describe-value.js';
import { isPlainObject } from '../events/payload-schema.js';

/** A client's `requestId`: what a UUID, a ULID or a counter with a prefix fits in. */
export const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A `request` command as the client sent it, its shape checked (not yet its params). */
export interface RequestCommand {
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** The client's id, or undefined when it sent none (the relay makes one). */
  readonly requestId: string | undefined;
}

/** What an answer to a `request` echoes: the method and id, when they could be read. */
export interface RequestEcho {
  method?: string;
  requestId?: string;
}

/**
 * Reads `{ method, params?, requestId? }`. Throws a RealtimeException (`INVALID_PAYLOAD`)
 * naming the field; the method's existence and its params are the relay's to check.
 */
export function readRequestCommand(body: unknown): RequestCommand {
  if (!isPlainObject(body))
    throw invalid(
      `a request must be an object { method, params, requestId }, got ${describeValue(body)}`,
    );
  const { method, params, requestId } = body;
  if (typeof method !== 'string' || method.length === 0 || method.length > 64)
    throw invalid(
      `method must be a method name of at most 64 characters, got ${describeValue(method)}`,
    );
  if (params !== undefined && params !== null && !isPlainObject(params))
    throw invalid(`params must be an object, got ${describeValue(params)}`);
  if (requestId !== undefined && (typeof requestId !== 'string' || !REQUEST_ID.test(requestId)))
    throw invalid(
      `requestId must be 1-64 characters of A-Z a-z 0-9 _ . : -, got ${describeValue(requestId)}`,
    );
  return { method, params: (params ?? {}) as Record<string, unknown>, requestId };
}

/** The method and id of a body, for the answer to a refused one; only values safe to echo. */
export function echoRequest(body: unknown): RequestEcho {
  if (!isPlainObject(body)) return {};
  const echo: RequestEcho = {};
  const { method, requestId } = body;
  if (typeof method === 'string' && method.length <= 64 && /^[a-z0-9_.]+$/.test(method))
    echo.method = method;
  if (typeof requestId === 'string' && REQUEST_ID.test(requestId)) echo.requestId = requestId;
  return echo;
}

function invalid(message: string): RealtimeException {
  return new RealtimeException(RealtimeErrorCode.InvalidPayload, message);
}
