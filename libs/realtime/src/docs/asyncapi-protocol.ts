import { MAX_BATCH } from '../broadcast/message-batcher.js';
import { ALL_SYMBOLS } from '../events/channels.js';
import { RealtimeEvent, eventDefinition } from '../events/event-catalogue.js';
import { BOOK_DEPTHS, FEED_RATES } from '../feeds/feed-choice.js';
import { ClientEvent, ServerEvent } from '../events/protocol-events.js';
import type { CatalogueChannel, RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { MAX_CLIENT_SYMBOL_LENGTH } from '../gateway/subscription.dto.js';
import type { CloseReason } from '../limits/connection-guard.service.js';
import { MAX_EPOCH_LENGTH } from '../recovery/stream-position.js';
import { REQUEST_ID } from '../requests/request-command.js';
import { MAX_METHOD_LENGTH, METHOD_NAME } from '../requests/realtime-requests-options.js';
import { ID_PATTERN, type JsonSchema } from './payload-json-schema.js';

/** The AsyncAPI channel of the connection itself; upper case, so no catalogue channel has it. */
export const CONNECTION_CHANNEL_ID = 'socketConnection';
export const SCHEMA_REFS = {
  envelope: '#/components/schemas/Envelope',
  errorReply: '#/components/schemas/ErrorReply',
  errorCode: '#/components/schemas/ErrorCode',
} as const;
export const JWT_SECURITY_REF = '#/components/securitySchemes/jwt';

/** How the gateway closes a connection, by reason, as `server.disconnect` says it. */
const CLOSE_CODES: { readonly [R in CloseReason]: RealtimeErrorCode } = {
  rate_limited: RealtimeErrorCode.RateLimited,
  slow_consumer: RealtimeErrorCode.ConnectionLimit,
  subscribe_deadline: RealtimeErrorCode.ConnectionLimit,
};
/** What the gateway echoes of a refused command's name. */
const MAX_ECHOED_COMMAND = 64;

export interface ProtocolMessage {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly contentType: 'application/json';
  readonly payload: JsonSchema;
}

/** A command, its answer on success, and whether it needs a signed-in connection. */
interface Command {
  readonly command: string;
  readonly answer: string;
  readonly signedIn: boolean;
}

const COMMANDS: readonly Command[] = [
  { command: ClientEvent.Subscribe, answer: ServerEvent.Subscribed, signedIn: false },
  { command: ClientEvent.Unsubscribe, answer: ServerEvent.Unsubscribed, signedIn: false },
  { command: ClientEvent.SubscribePrivate, answer: ServerEvent.Subscribed, signedIn: true },
  { command: ClientEvent.UnsubscribePrivate, answer: ServerEvent.Unsubscribed, signedIn: true },
  { command: ClientEvent.Ping, answer: ServerEvent.Pong, signedIn: false },
  { command: ClientEvent.AuthRefresh, answer: ServerEvent.AuthRefreshed, signedIn: true },
  { command: ClientEvent.Request, answer: ServerEvent.Response, signedIn: false },
];

const integer = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const okTrue = { const: true } as const;

/** What the server accepts is closed (it refuses unknown fields); what it sends is open. */
function closedObject(properties: Record<string, JsonSchema>, required: string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

function openObject(properties: Record<string, JsonSchema>, required: string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: true };
}

function message(name: string, summary: string, payload: JsonSchema): ProtocolMessage {
  return { name, title: name, summary, contentType: 'application/json', payload };
}

/** The key a keyed channel takes, as a subscriber sends it and the gateway echoes it. */
function keySchema(channel: CatalogueChannel): JsonSchema {
  const { field, values } = channel.key!;
  return values
    ? { type: 'string', enum: [...values] }
    : { type: 'string', pattern: ID_PATTERN, description: `the ${field}` };
}

/** The channel whose subscribers may hold a partial book (`depth`). */
const BOOK_CHANNEL = eventDefinition(RealtimeEvent.OrderBookSnapshot)!.channel;

function subscribeVariant(channel: CatalogueChannel, withSince: boolean): JsonSchema {
  const symbol = {
    type: 'string',
    maxLength: MAX_CLIENT_SYMBOL_LENGTH,
    description:
      channel.name === 'ticker'
        ? `A symbol (upper-cased by the gateway), or "${ALL_SYMBOLS}" for tickers.update`
        : 'A symbol (upper-cased by the gateway)',
  };
  const properties: Record<string, JsonSchema> = { channel: { const: channel.name }, symbol };
  const required = ['channel', 'symbol'];
  if (channel.key) {
    properties[channel.key.field] = keySchema(channel);
    required.push(channel.key.field);
  }
  properties.rate = RATE;
  if (channel.name === BOOK_CHANNEL) properties.depth = DEPTH;
  if (withSince) properties.since = SINCE;
  return closedObject(properties, required);
}

const RATE: JsonSchema = {
  type: 'string',
  enum: [...FEED_RATES],
  default: 'realtime',
  description:
    'How often messages come: every one (realtime), or once per window: conflatable events the latest of the window, order books one merged update, other events one batch',
};

const DEPTH: JsonSchema = {
  type: 'integer',
  enum: [...BOOK_DEPTHS],
  description:
    'Order books only: hold the top N levels of each side; updates come when they change, levels leaving the top as "0", checksum over the top min(N, 25)',
};

const STREAM_POSITION: JsonSchema = closedObject(
  {
    offset: { ...integer, description: "The offset of the last message of the room's stream seen" },
    epoch: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_EPOCH_LENGTH,
      pattern: '^[A-Za-z0-9._:-]+$',
      description: 'The epoch that offset counts in',
    },
  },
  ['offset', 'epoch'],
);

const SINCE: JsonSchema = {
  ...STREAM_POSITION,
  description:
    'Where the client stood (the offset and epoch of the last message it got): the answer says whether what it missed follows (recovered) or why not',
};

/** What a subscribe answer adds: the room's position, and with since, the recovery outcome. */
const OPENING_PROPERTIES: Record<string, JsonSchema> = {
  position: {
    ...STREAM_POSITION,
    description: "The room's position just before the messages that follow the answer",
  },
  recovered: {
    type: 'boolean',
    description:
      'With since only: true when the missed messages follow in order, false when the current state follows instead',
  },
  reason: {
    type: 'string',
    enum: ['epoch_changed', 'too_old', 'history_off', 'unavailable'],
    description: 'Why recovered is false',
  },
  rate: { ...RATE, description: 'The rate chosen, when not realtime' },
  conflated: {
    const: true,
    description:
      'Present when the feed leaves messages out (a rate on conflatable channels, every rate or depth of a book): offsets then skip, and a jump is no gap',
  },
};

function answerVariant(channel: CatalogueChannel): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    ok: okTrue,
    channel: { const: channel.name },
    symbol: { type: 'string', description: 'The canonical symbol' },
    ...OPENING_PROPERTIES,
  };
  const required = ['ok', 'channel', 'symbol'];
  if (channel.key) {
    properties[channel.key.field] = keySchema(channel);
    required.push(channel.key.field);
  }
  if (channel.name === BOOK_CHANNEL) properties.depth = DEPTH;
  return openObject(properties, required);
}

/** Every message of the connection itself: the commands, their answers, the server's notices. */
export function protocolMessages(catalogue: RealtimeCatalogue): Record<string, ProtocolMessage> {
  const publicChannels = catalogue.publicChannels();
  const privateNames = catalogue.privateChannels().map((channel) => channel.name);
  const subscribe: JsonSchema = {
    oneOf: publicChannels.map((channel) => subscribeVariant(channel, true)),
  };
  const subscription: JsonSchema = {
    oneOf: publicChannels.map((channel) => subscribeVariant(channel, false)),
  };
  const privateChannel: JsonSchema = { type: 'string', enum: privateNames };
  const privateSubscription = closedObject({ channel: privateChannel }, ['channel']);
  const subscribePrivate = closedObject({ channel: privateChannel, since: SINCE }, ['channel']);
  const answer: JsonSchema = {
    oneOf: [
      ...publicChannels.map(answerVariant),
      openObject({ ok: okTrue, channel: privateChannel, ...OPENING_PROPERTIES }, ['ok', 'channel']),
    ],
  };
  const byClose = Object.entries(CLOSE_CODES);
  const messages = [
    message(
      ClientEvent.Subscribe,
      'Subscribe to a public channel of one symbol (and key, for keyed channels); with since, catch up from that position',
      subscribe,
    ),
    message(ClientEvent.Unsubscribe, 'Leave a public subscription', subscription),
    message(
      ClientEvent.SubscribePrivate,
      "Subscribe to a private channel: always the verified token's own user; with since, catch up from that position",
      subscribePrivate,
    ),
    message(ClientEvent.UnsubscribePrivate, 'Leave a private subscription', privateSubscription),
    message(ClientEvent.Ping, 'A round trip: anything, or nothing', {}),
    message(
      ClientEvent.AuthRefresh,
      'Replace the connection token with a newer one for the same user',
      closedObject({ token: { type: 'string' } }, ['token']),
    ),
    message(
      ClientEvent.Request,
      'Call a backend method the gateway declares; the backend gets the verified user, never one sent here (methods may need a signed-in connection)',
      closedObject(
        {
          method: { type: 'string', pattern: METHOD_NAME.source, maxLength: MAX_METHOD_LENGTH },
          params: { type: 'object', additionalProperties: true },
          requestId: {
            type: 'string',
            pattern: REQUEST_ID.source,
            description:
              'Yours to choose: the same id again within the window gets the first answer',
          },
        },
        ['method'],
      ),
    ),
    message(
      ServerEvent.Response,
      "The answer to request (the ack, or this event without one): the backend's result",
      openObject(
        { ok: okTrue, method: { type: 'string' }, requestId: { type: 'string' }, result: {} },
        ['ok', 'method', 'requestId', 'result'],
      ),
    ),
    message(
      ServerEvent.Connected,
      'Sent once, right after connecting',
      openObject(
        {
          connectionId: { type: 'string' },
          userId: { type: ['string', 'null'], description: 'null for anonymous connections' },
          serverTime: integer,
        },
        ['connectionId', 'userId', 'serverTime'],
      ),
    ),
    message(
      ServerEvent.Subscribed,
      'The answer to subscribe and subscribe.private (the ack, or this event without one)',
      answer,
    ),
    message(
      ServerEvent.Unsubscribed,
      'The answer to unsubscribe and unsubscribe.private (the ack, or this event without one)',
      answer,
    ),
    message(
      ServerEvent.Error,
      'A refused command (the ack, or this event without one); the connection stays open',
      { $ref: SCHEMA_REFS.errorReply },
    ),
    message(
      ServerEvent.Pong,
      'The answer to ping',
      openObject({ ok: okTrue, timestamp: integer }, ['ok', 'timestamp']),
    ),
    message(
      ServerEvent.AuthRefreshed,
      'The answer to auth.refresh; subscriptions are kept',
      openObject(
        {
          ok: okTrue,
          expiresAt: {
            type: ['integer', 'null'],
            minimum: 0,
            description: 'null for a token without exp',
          },
        },
        ['ok', 'expiresAt'],
      ),
    ),
    message(
      ServerEvent.AuthExpired,
      'The token ran out; the server closes the connection right after',
      openObject(
        {
          code: { const: RealtimeErrorCode.AuthExpired },
          expiredAt: { type: ['integer', 'null'], minimum: 0 },
        },
        ['code', 'expiredAt'],
      ),
    ),
    message(
      ServerEvent.ServerShutdown,
      'The instance is shutting down: reconnect after reconnectAfterMs, then subscribe again',
      openObject({ reconnectAfterMs: integer }, ['reconnectAfterMs']),
    ),
    message(
      ServerEvent.ServerDisconnect,
      'Sent just before the server closes the connection, saying why',
      openObject(
        {
          code: { type: 'string', enum: [...new Set(byClose.map(([, code]) => code))] },
          reason: { type: 'string', enum: byClose.map(([reason]) => reason) },
        },
        ['code', 'reason'],
      ),
    ),
    message(
      ServerEvent.Batch,
      'Only on connections made with auth.batch: true: envelopes of one subscription, oldest first',
      { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: { $ref: SCHEMA_REFS.envelope } },
    ),
  ];
  return Object.fromEntries(messages.map((m) => [m.name, m]));
}

/** The send operations: one per command, with its answer as the reply. */
export function commandOperations(): Record<string, unknown> {
  const channel = { $ref: `#/channels/${CONNECTION_CHANNEL_ID}` };
  const ref = (name: string) => ({ $ref: `#/channels/${CONNECTION_CHANNEL_ID}/messages/${name}` });
  return Object.fromEntries(
    COMMANDS.map(({ command, answer, signedIn }) => [
      `send.${command}`,
      {
        action: 'send',
        channel,
        title: command,
        summary: `${command}; the answer comes through the ack callback, or as the ${answer} or error event without one`,
        messages: [ref(command)],
        reply: { channel, messages: [ref(answer), ref(ServerEvent.Error)] },
        ...(signedIn ? { security: [{ $ref: JWT_SECURITY_REF }] } : {}),
      },
    ]),
  );
}

/** The shared schemas: the envelope of every domain event, refusals and their codes. */
export function protocolSchemas(): Record<string, JsonSchema> {
  return {
    Envelope: openObject(
      {
        channel: { type: 'string' },
        event: { type: 'string', description: 'The event name, the same as the Socket.IO event' },
        symbol: { type: 'string' },
        offset: {
          ...integer,
          description:
            "The message's place in its room's stream: one more each, the same on every instance",
        },
        epoch: {
          type: 'string',
          description: 'The stream offset counts in; changes when it was reset',
        },
        ts: { ...integer, description: 'When the gateway sent it, ms since the epoch' },
        replay: { const: true },
        data: { type: 'object', additionalProperties: true },
      },
      ['channel', 'event', 'offset', 'epoch', 'ts', 'data'],
    ),
    ErrorReply: {
      anyOf: [
        openObject(
          {
            ok: { const: false },
            command: { type: 'string', maxLength: MAX_ECHOED_COMMAND },
            error: openObject(
              { code: { $ref: SCHEMA_REFS.errorCode }, message: { type: 'string' } },
              ['code', 'message'],
            ),
          },
          ['ok', 'command', 'error'],
        ),
        openObject(
          {
            ok: { const: false },
            command: { const: ClientEvent.Request },
            method: { type: 'string' },
            requestId: { type: 'string' },
            error: openObject(
              {
                code: {
                  type: 'string',
                  pattern: '^[A-Z][A-Z0-9_]{0,63}$',
                  description: "A code of the gateway's, or the request's backend's own",
                },
                message: { type: 'string' },
              },
              ['code', 'message'],
            ),
          },
          ['ok', 'command', 'error'],
        ),
      ],
    },
    ErrorCode: {
      type: 'string',
      description: 'Stable codes to switch on; messages are for people and may change',
      enum: Object.values(RealtimeErrorCode),
    },
  };
}
