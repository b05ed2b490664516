import WebSocket from 'ws';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { ClientEvent, ServerEvent } from '../events/protocol-events.js';

/**
 * The plain-WebSocket JSON protocol: every message is one text frame holding
 * `{ id?, type, timestamp?, data? }`. Commands are the Socket.IO face's, by the same names;
 * the gateway handles them once for both faces. What Socket.IO would send is translated here:
 * an event becomes `{ type: event, timestamp, data }`, a command's answer
 * `{ id, type: answer, timestamp, data }`.
 */

/** The Engine.IO transport name a plain-WebSocket connection gives itself. */
export const JSON_TRANSPORT = 'json';

/** Sent by the server to a connection that came without a token (see `JsonConnection`). */
export const AUTH_REQUIRED = 'auth_required';
/** Sent by a client: its token, after connecting without one. */
export const AUTHENTICATE = 'authenticate';

/** Longest `id` and `type` a client may send. */
export const MAX_FRAME_ID = 64;
const MAX_TYPE = 64;

/** The event that answers each command when it succeeds; a refusal is `error`. */
const ANSWERS: Readonly<Record<string, string>> = {
  [ClientEvent.Subscribe]: ServerEvent.Subscribed,
  [ClientEvent.Unsubscribe]: ServerEvent.Unsubscribed,
  [ClientEvent.SubscribePrivate]: ServerEvent.Subscribed,
  [ClientEvent.UnsubscribePrivate]: ServerEvent.Unsubscribed,
  [ClientEvent.Ping]: ServerEvent.Pong,
  [ClientEvent.AuthRefresh]: ServerEvent.AuthRefreshed,
  [ClientEvent.Request]: ServerEvent.Response,
};

/**
 * Names Socket.IO keeps for itself: a client event by one of them would reach the
 * connection's own listeners (`disconnect` ends it in Nest's handlers). Socket.IO's decoder
 * closes a connection that sends one; this face answers it like any unknown command.
 */
const RESERVED_TYPES: ReadonlySet<string> = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/** A frame's `id`: echoed in the answer to it. */
export type FrameId = string | number;

/** A client's frame, checked. */
export interface ClientFrame {
  readonly id: FrameId | undefined;
  readonly type: string;
  readonly data: unknown;
}

/** A frame that could not be read, and whatever of its `id` and `type` could be. */
export interface RefusedFrame {
  readonly id: FrameId | undefined;
  readonly type: string;
  readonly message: string;
}

/** Reads one text frame; a refusal says what is wrong with it. */
export function readClientFrame(text: string): ClientFrame | RefusedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refused(undefined, 'unknown', 'not JSON: send one JSON object per text frame');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refused(undefined, 'unknown', 'a frame must be a JSON object { id?, type, data? }');
  }
  const { id, type, data } = value as Record<string, unknown>;
  const frameId = readId(id);
  if (frameId === null) {
    return refused(
      undefined,
      typeof type === 'string' ? type : 'unknown',
      `id must be a string of at most ${MAX_FRAME_ID} characters or an integer below 2^53`,
    );
  }
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE) {
    return refused(frameId, 'unknown', `type must be a string of 1 to ${MAX_TYPE} characters`);
  }
  if (RESERVED_TYPES.has(type)) return refused(frameId, type, unknownType());
  return { id: frameId, type, data };
}

export function isRefused(frame: ClientFrame | RefusedFrame): frame is RefusedFrame {
  return 'message' in frame;
}

/** The message for a type that is no command. */
export function unknownType(): string {
  return `unknown type; send one of: ${[...Object.keys(ANSWERS), AUTHENTICATE].join(', ')}`;
}

function refused(id: FrameId | undefined, type: string, message: string): RefusedFrame {
  return { id, type: type.slice(0, MAX_TYPE), message };
}

/** undefined: none sent; null: one that cannot be echoed. */
function readId(id: unknown): FrameId | undefined | null {
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string') return id.length <= MAX_FRAME_ID ? id : null;
  if (typeof id === 'number') return Number.isSafeInteger(id) ? id : null;
  return null;
}

/** The answer to a command, `error` when its body is a refusal (`ok: false` leads every one). */
export function answerType(command: string, body: string): string {
  if (body.startsWith('{"ok":false')) return ServerEvent.Error;
  return ANSWERS[command] ?? command;
}

/** A frame that answers a client's frame. */
export function answerFrame(id: FrameId | undefined, type: string, body: string): string {
  const idPart = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  return `{${idPart}"type":"${type}","timestamp":${Date.now()},"data":${body}}`;
}

/** The refusal of a frame the connection could not pass on. */
export function refusalFrame(
  id: FrameId | undefined,
  command: string,
  code: RealtimeErrorCode,
  message: string,
): string {
  const body = JSON.stringify({ ok: false, command, error: { code, message } });
  return answerFrame(id, ServerEvent.Error, body);
}

/** WebSocket frames ready to write: a header and the text. */
export type ReadyFrame = readonly Buffer[];

/** `ws`'s frame builder, which its types do not declare (Socket.IO's adapter uses it too). */
const { Sender } = WebSocket as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, boolean | number>): Buffer[] };
};

/** A frame built once, for every connection it goes to (like Socket.IO's pre-encoded frame). */
export function readyFrame(text: string): ReadyFrame {
  return Sender.frame(Buffer.from(text), {
    fin: true,
    opcode: 1,
    mask: false,
    readOnly: false,
    rsv1: false,
  });
}

/** Socket.IO packet types, as the first character of an encoded packet. */
export const PacketKind = {
  Connect: 0x30,
  Disconnect: 0x31,
  Event: 0x32,
  Ack: 0x33,
  ConnectError: 0x34,
} as const;

/** An encoded Socket.IO packet, split: its kind, ack id and JSON body. */
export interface EncodedPacket {
  readonly kind: number;
  readonly ackId: number | undefined;
  readonly body: string;
}

/** Splits `2/ws,17[...]`: kind, namespace (skipped), ack id, body. */
export function splitPacket(encoded: string): EncodedPacket {
  const kind = encoded.charCodeAt(0);
  let at = 1;
  if (encoded.charCodeAt(at) === 0x2f /* / */) {
    const comma = encoded.indexOf(',', at);
    at = comma < 0 ? encoded.length : comma + 1;
  }
  let ackId: number | undefined;
  const digitsFrom = at;
  while (at < encoded.length) {
    const code = encoded.charCodeAt(at);
    if (code < 0x30 || code > 0x39) break;
    at++;
  }
  if (at > digitsFrom) ackId = Number(encoded.slice(digitsFrom, at));
  return { kind, ackId, body: encoded.slice(at) };
}

/**
 * The JSON frame of an event packet's body `["name",payload]`: the payload's text is kept as
 * Socket.IO encoded it, never parsed or encoded again. Event names are the catalogue's and the
 * protocol's (letters, digits, dots, underscores): they need no escaping.
 */
export function eventFrame(body: string): string {
  return `{"type":"${eventName(body)}","timestamp":${Date.now()},"data":${eventPayload(body)}}`;
}

/** The name of an event packet's event. */
export function eventName(body: string): string {
  return body.slice(2, body.indexOf('"', 2));
}

/** The text of an event packet's one argument (`null` when it has none). */
export function eventPayload(body: string): string {
  const from = body.indexOf('"', 2) + 2;
  return from < body.length ? body.slice(from, -1) : 'null';
}
