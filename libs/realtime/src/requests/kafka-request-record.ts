import type { BackendAnswer, RelayedRequest } from './request-transport.js';

/**
 * The Kafka side of the request contract, as a backend sees it: the headers of a request
 * record, and the ones a reply record carries back.
 */
export const KafkaRequestHeader = {
  /** Unique per send (a UUID); the reply carries it back, as a header or in its value. */
  CorrelationId: 'correlation-id',
  /** Where the backend produces its reply. */
  ReplyTopic: 'reply-topic',
  /** The gateway instance waiting for the reply; the reply's recommended key. */
  InstanceId: 'instance-id',
  /** When the gateway stops waiting, ms since epoch as a decimal string. */
  Deadline: 'deadline',
} as const;

/** One request as produced to the method's topic. */
export interface KafkaRequestRecord {
  /** The verified user id, or the connection id for an anonymous client: one user, one partition. */
  readonly key: string;
  /** The `RelayedRequest` as JSON. */
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function requestRecord(
  request: RelayedRequest,
  correlationId: string,
  replyTopic: string,
): KafkaRequestRecord {
  return {
    key: request.userId ?? request.connectionId,
    value: JSON.stringify(request),
    headers: {
      [KafkaRequestHeader.CorrelationId]: correlationId,
      [KafkaRequestHeader.ReplyTopic]: replyTopic,
      [KafkaRequestHeader.InstanceId]: request.instanceId,
      [KafkaRequestHeader.Deadline]: String(request.deadline),
    },
  };
}

/** A header as kafkajs hands it over: a repeated header comes as an array. */
export type KafkaHeaderValue = Buffer | string | Array<Buffer | string> | undefined;

/** The correlation id of a reply's header, without reading its value. */
export function headerCorrelationId(
  headers: Readonly<Record<string, KafkaHeaderValue>> | undefined,
): string | undefined {
  let header = headers?.[KafkaRequestHeader.CorrelationId];
  if (Array.isArray(header)) header = header[0];
  if (header === undefined) return undefined;
  return typeof header === 'string' ? header : header.toString('utf8');
}

/**
 * A reply's value, read: the answer or why not, and the correlation id when the value names one
 * (so that a malformed reply of the value-field variant still fails its request at once).
 */
export type ReadReply =
  | { readonly answer: BackendAnswer; readonly correlationId?: string }
  | { readonly malformed: MalformedReply; readonly correlationId?: string };

/** Why a reply was unusable; a small fixed set, so each kind is logged once. */
export type MalformedReply =
  | 'no value'
  | 'value is not JSON'
  | 'value is not a JSON object'
  | 'correlationId is not a string'
  | 'ok is neither true nor false'
  | 'error has no string code';

/**
 * Reads a reply's value: `{ ok: true, result }` or `{ ok: false, error: { code, message } }`,
 * with `correlationId` beside them when the backend does not use the header. A missing result
 * is null; a missing message is the code. Other fields are ignored.
 */
export function readReply(value: Buffer | string | null | undefined): ReadReply {
  if (value === null || value === undefined || value.length === 0) return { malformed: 'no value' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return { malformed: 'value is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { malformed: 'value is not a JSON object' };
  const reply = parsed as Record<string, unknown>;
  const { correlationId } = reply;
  if (correlationId !== undefined && typeof correlationId !== 'string')
    return { malformed: 'correlationId is not a string' };
  const named = correlationId === undefined ? {} : { correlationId };
  if (reply.ok === true) return { answer: { ok: true, result: reply.result ?? null }, ...named };
  if (reply.ok !== false) return { malformed: 'ok is neither true nor false', ...named };
  const error = reply.error as Record<string, unknown> | null | undefined;
  const code = typeof error === 'object' && error !== null ? error.code : undefined;
  if (typeof code !== 'string' || code.length === 0)
    return { malformed: 'error has no string code', ...named };
  const message = typeof error?.message === 'string' ? error.message : code;
  return { answer: { ok: false, error: { code, message } }, ...named };
}
