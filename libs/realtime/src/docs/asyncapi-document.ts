import { ALL_SYMBOLS } from '../events/channels.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeEvent } from '../events/event-catalogue.js';
import { ServerEvent } from '../events/protocol-events.js';
import type { CatalogueChannel, RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { describeValue } from '../errors/describe-value.js';
import {
  CONNECTION_CHANNEL_ID,
  JWT_SECURITY_REF,
  commandOperations,
  protocolMessages,
  protocolSchemas,
} from './asyncapi-protocol.js';
import { ID_PATTERN, eventPayloadJsonSchema, type JsonSchema } from './payload-json-schema.js';

export interface AsyncApiDocumentOptions {
  /** Default `Exchange real-time gateway`. */
  readonly title?: string;
  /** The API's version in `info.version`. Default `1.0.0`. */
  readonly version?: string;
  /** Where clients connect, e.g. `https://gateway.example.com`; no `servers` without it. */
  readonly serverUrl?: string;
  /** The Socket.IO namespace. Default `/ws`. */
  readonly namespace?: string;
}

export interface AsyncApiServer {
  readonly host: string;
  readonly protocol: 'ws' | 'wss';
  readonly pathname: string;
  readonly description: string;
}

/** An AsyncAPI 3.0.0 document as a plain object, ready for JSON. */
export interface AsyncApiDocument {
  readonly asyncapi: '3.0.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers?: { readonly [id: string]: AsyncApiServer };
  readonly channels: { readonly [id: string]: unknown };
  readonly operations: { readonly [id: string]: unknown };
  readonly components: {
    readonly schemas: { readonly [id: string]: JsonSchema };
    readonly messages: { readonly [id: string]: unknown };
    readonly securitySchemes: { readonly [id: string]: unknown };
  };
}

/** The order-book events the gateway delivers with its `checksum` added to `data`. */
const CHECKSUMMED: ReadonlySet<string> = new Set([
  RealtimeEvent.OrderBookSnapshot,
  RealtimeEvent.OrderBookUpdate,
]);
const CHECKSUM: JsonSchema = {
  type: 'integer',
  minimum: 0,
  maximum: 0xffffffff,
  description: 'CRC-32 of the top 25 levels, interleaved (docs/PROTOCOL.md)',
};
const POSITION = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const INFO_DESCRIPTION = [
  'Socket.IO v4 (any v4 client). Clients send the commands of the connection channel, each',
  'with an optional ack callback; without one the answer arrives as an event. Domain events',
  'arrive as their own Socket.IO events, wrapped in the envelope, while subscribed; events',
  'of the system channel go to every connection. Channel addresses are the gateway rooms,',
  'for orientation: clients never send them. What the server accepts is closed (unknown',
  'fields are refused); what it sends is open: ignore fields you do not know.',
].join(' ');

/**
 * The AsyncAPI 3.0 document of a merged catalogue: one channel per catalogue channel, a
 * message per event (the envelope, with the event's payload schema as `data`), receive
 * operations per channel, send operations per client command with their answers. The same
 * catalogue and options always give the same document.
 */
export function asyncApiDocument(
  catalogue: RealtimeCatalogue,
  options: AsyncApiDocumentOptions = {},
): AsyncApiDocument {
  const namespace = options.namespace ?? '/ws';
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const channel of catalogue.channels()) {
    for (const [id, events] of addressGroups(channel)) {
      channels[id] = channelObject(channel, events);
      operations[`receive.${id}`] = receiveOperation(channel, id, events);
      for (const event of events) messages[event.event] = eventMessage(event);
    }
  }
  const protocol = protocolMessages(catalogue);
  channels[CONNECTION_CHANNEL_ID] = {
    address: null,
    title: 'Connection',
    description: `The connection to the ${namespace} namespace itself: commands, their answers and notices to this connection.`,
    messages: Object.fromEntries(
      Object.keys(protocol).map((name) => [name, { $ref: `#/components/messages/${name}` }]),
    ),
  };
  operations[`receive.${CONNECTION_CHANNEL_ID}`] = {
    action: 'receive',
    channel: { $ref: `#/channels/${CONNECTION_CHANNEL_ID}` },
    title: 'Connection notices',
    summary: 'What the server sends a connection besides domain events',
    messages: Object.values(ServerEvent).map((name) => ({
      $ref: `#/channels/${CONNECTION_CHANNEL_ID}/messages/${name}`,
    })),
  };
  Object.assign(operations, commandOperations());
  Object.assign(messages, protocol);
  return {
    asyncapi: '3.0.0',
    info: {
      title: options.title ?? 'Exchange real-time gateway',
      version: options.version ?? '1.0.0',
      description: INFO_DESCRIPTION,
    },
    ...(options.serverUrl === undefined
      ? {}
      : { servers: { gateway: asyncApiServer(options.serverUrl, namespace) } }),
    channels,
    operations,
    components: {
      schemas: protocolSchemas(),
      messages,
      securitySchemes: {
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "The exchange's own JWT, at the handshake: auth: { token }, ?token= or Authorization: Bearer. Private channels and auth.refresh need it; an invalid one is refused (connect_error AUTH_INVALID / AUTH_EXPIRED).",
        },
      },
    },
  };
}

/** The server entry for clients connecting at `serverUrl` (http(s) or ws(s)). */
export function asyncApiServer(serverUrl: string, namespace = '/ws'): AsyncApiServer {
  const url = URL.canParse(serverUrl) ? new URL(serverUrl) : undefined;
  const secure = url?.protocol === 'https:' || url?.protocol === 'wss:';
  if (!url || !(secure || url.protocol === 'http:' || url.protocol === 'ws:') || !url.host) {
    throw new TypeError(
      `asyncApiDocument serverUrl must be an http(s) or ws(s) URL, got ${describeValue(serverUrl)}`,
    );
  }
  return {
    host: url.host,
    protocol: secure ? 'wss' : 'ws',
    pathname: namespace,
    description: `Socket.IO v4 at ${url.protocol}//${url.host}${namespace} (Engine.IO path /socket.io); transports websocket, or long-polling.`,
  };
}

/**
 * A catalogue channel's events by room address: one group, except the ticker channel's
 * `ticker:all` events, which get a channel of their own (its id has an upper-case letter, so
 * no catalogue channel can have it).
 */
function addressGroups(channel: CatalogueChannel): Array<[string, CatalogueEvent[]]> {
  const bySymbol = channel.events.filter((event) => event.routing !== 'allSymbols');
  const allSymbols = channel.events.filter((event) => event.routing === 'allSymbols');
  const groups: Array<[string, CatalogueEvent[]]> = [];
  if (bySymbol.length > 0) groups.push([channel.name, bySymbol]);
  if (allSymbols.length > 0) groups.push([`${channel.name}All`, allSymbols]);
  return groups;
}

function roomAddress(channel: CatalogueChannel, events: readonly CatalogueEvent[]): string | null {
  switch (events[0]!.routing) {
    case 'symbol':
      return `${channel.name}:{symbol}`;
    case 'symbolKey':
      return `${channel.name}:{symbol}:{${channel.key!.field}}`;
    case 'allSymbols':
      return `${channel.name}:${ALL_SYMBOLS}`;
    case 'user':
      return `user:{userId}:${channel.name.slice('user.'.length)}`;
    case 'everyone':
      return null;
  }
}

function channelObject(channel: CatalogueChannel, events: readonly CatalogueEvent[]): unknown {
  const routing = events[0]!.routing;
  const parameters: Record<string, unknown> = {};
  if (routing === 'symbol' || routing === 'symbolKey') {
    parameters.symbol = { description: 'The symbol, in canonical form (upper case)' };
  }
  if (routing === 'symbolKey') {
    const { field, values } = channel.key!;
    parameters[field] = values
      ? { enum: [...values], description: `The ${field}` }
      : { description: `The ${field}: 1-128 of A-Z a-z 0-9 _ . @ -` };
  }
  if (routing === 'user') {
    parameters.userId = { description: "The verified token's user id; clients never send it" };
  }
  return {
    address: roomAddress(channel, events),
    title: channel.name,
    description: howToReceive(channel, routing),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    messages: Object.fromEntries(
      events.map((event) => [event.event, { $ref: `#/components/messages/${event.event}` }]),
    ),
  };
}

function howToReceive(channel: CatalogueChannel, routing: CatalogueEvent['routing']): string {
  const name = JSON.stringify(channel.name);
  switch (routing) {
    case 'symbol':
      return `Public, per symbol: subscribe { channel: ${name}, symbol }.`;
    case 'symbolKey':
      return `Public, per symbol and ${channel.key!.field}: subscribe { channel: ${name}, symbol, ${channel.key!.field} }.`;
    case 'allSymbols':
      return `Public, every symbol at once: subscribe { channel: ${name}, symbol: "${ALL_SYMBOLS}" }.`;
    case 'user':
      return `Private, the signed-in user's own: subscribe.private { channel: ${name} }.`;
    case 'everyone':
      return 'Every connection of the namespace, without subscribing.';
  }
}

function receiveOperation(
  channel: CatalogueChannel,
  id: string,
  events: readonly CatalogueEvent[],
): unknown {
  return {
    action: 'receive',
    channel: { $ref: `#/channels/${id}` },
    title: `Receive ${id}`,
    summary: howToReceive(channel, events[0]!.routing),
    messages: events.map((event) => ({ $ref: `#/channels/${id}/messages/${event.event}` })),
    ...(channel.private ? { security: [{ $ref: JWT_SECURITY_REF }] } : {}),
  };
}

function eventMessage(event: CatalogueEvent): unknown {
  const notes = [
    event.builtByGateway && 'Built by the gateway from other events; no ingress accepts it.',
    event.conflatable &&
      'Conflatable: each one supersedes the last, so a slow consumer may skip some (offset shows the gap).',
    event.replayLast && 'A new subscriber gets the latest one first, with replay: true.',
  ].filter((note): note is string => typeof note === 'string');
  return {
    name: event.event,
    title: event.event,
    summary: event.description ?? `${event.event} on channel ${event.channel}`,
    ...(notes.length > 0 ? { description: notes.join(' ') } : {}),
    contentType: 'application/json',
    payload: envelopeSchema(event),
  };
}

/** The envelope an event arrives in, with the event's own payload schema as `data`. */
function envelopeSchema(event: CatalogueEvent): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    channel: { const: event.channel },
    event: { const: event.event },
  };
  const required = ['channel', 'event'];
  if (event.routing === 'symbol' || event.routing === 'symbolKey') {
    properties.symbol = { type: 'string', description: 'The subscribed symbol' };
    required.push('symbol');
  } else if (event.routing === 'allSymbols') {
    properties.symbol = { const: ALL_SYMBOLS };
    required.push('symbol');
  }
  if (event.key) {
    const { field, values } = event.key;
    properties[field] = values
      ? { type: 'string', enum: [...values] }
      : { type: 'string', pattern: ID_PATTERN };
    required.push(field);
  }
  properties.offset = {
    ...POSITION,
    description:
      "The message's place in its room's stream, one more each and the same on every instance; a jump within an epoch means a missed message",
  };
  properties.epoch = {
    type: 'string',
    description: 'The stream offset counts in; it changes when the stream was reset',
  };
  properties.ts = { ...POSITION, description: 'When the gateway sent it, ms since the epoch' };
  properties.replay = {
    const: true,
    description: 'On what a new subscriber gets first; absent on live messages',
  };
  properties.data = deliveredData(event);
  required.push('offset', 'epoch', 'ts', 'data');
  return { type: 'object', properties, required, additionalProperties: true };
}

function deliveredData(event: CatalogueEvent): JsonSchema {
  const data = eventPayloadJsonSchema(event);
  if (!CHECKSUMMED.has(event.event)) return data;
  return {
    ...data,
    properties: { ...(data.properties as Record<string, JsonSchema>), checksum: CHECKSUM },
    required: [...((data.required as string[] | undefined) ?? []), 'checksum'],
  };
}
