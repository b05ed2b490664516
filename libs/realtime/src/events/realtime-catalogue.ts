import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import { describeValue } from '../errors/describe-value.js';
import { SYSTEM_CHANNEL } from './channels.js';
import type { CustomEventDefinition, RoutingKey } from './custom-events.js';
import type { CatalogueEvent } from './catalogue-event.js';
import { EVENT_CATALOGUE } from './event-catalogue.js';
import { ID_REGEX } from './payload-schema.js';
import { ClientEvent, ServerEvent } from './protocol-events.js';

export type { CatalogueEvent };

/** A channel clients subscribe to (or, for `system`, get without subscribing). */
export interface CatalogueChannel {
  readonly name: string;
  readonly routing: CatalogueEvent['routing'];
  /** The second part of a `symbolKey` channel's rooms, e.g. klines' `interval`. */
  readonly key?: RoutingKey;
  /** Private: `subscribe.private`, rooms per verified user. */
  readonly private: boolean;
  readonly builtIn: boolean;
  readonly events: readonly CatalogueEvent[];
}

const EVENT_NAME = /^[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*$/;
const CHANNEL_NAME = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/;
const KEY_FIELD = /^[a-z][A-Za-z0-9_]{0,31}$/;
const MAX_NAME = 64;
/** Names a domain event can never take: the protocol's own messages. */
const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  ...Object.values(ClientEvent),
  ...Object.values(ServerEvent),
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
  'response',
  'request',
]);
/** Subscribe fields with a fixed meaning: not a key's name. */
const RESERVED_KEY_FIELDS: ReadonlySet<string> = new Set([
  'channel',
  'symbol',
  'since',
  'rate',
  'depth',
  // The envelope's own fields: the key travels beside them.
  'event',
  'seq',
  'ts',
  'replay',
  'data',
]);

/**
 * The merged catalogue: the built-in events plus the host's and the operator's, checked
 * once at start-up. Everything that reads events or channels (subscribe parsing, every
 * ingress, delivery, metrics, the AsyncAPI document) reads this one, so an added event
 * works everywhere a built-in one does.
 */
export class RealtimeCatalogue {
  private readonly byEvent = new Map<string, CatalogueEvent>();
  private readonly byChannel = new Map<string, CatalogueChannel>();

  /** `extra` entries are checked: a clash or a bad name throws, naming `source`. */
  constructor(extra: readonly CustomEventDefinition[] = [], source = 'events') {
    for (const definition of EVENT_CATALOGUE.values()) this.add(definition, true, source);
    extra.forEach((definition, index) =>
      this.add(checked(definition, `${source}[${index}]`), false, `${source}[${index}]`),
    );
  }

  definition(event: string): CatalogueEvent | undefined {
    return this.byEvent.get(event);
  }

  events(): IterableIterator<CatalogueEvent> {
    return this.byEvent.values();
  }

  channel(name: string): CatalogueChannel | undefined {
    return this.byChannel.get(name);
  }

  channels(): IterableIterator<CatalogueChannel> {
    return this.byChannel.values();
  }

  /** Public channels of `subscribe`, in catalogue order. */
  publicChannels(): CatalogueChannel[] {
    return [...this.byChannel.values()].filter(
      (channel) => !channel.private && channel.routing !== 'everyone',
    );
  }

  /** Private channels of `subscribe.private`, in catalogue order. */
  privateChannels(): CatalogueChannel[] {
    return [...this.byChannel.values()].filter((channel) => channel.private);
  }

  private add(definition: CatalogueEvent, builtIn: boolean, where: string): void {
    if (this.byEvent.has(definition.event)) {
      const other = this.byEvent.get(definition.event)!;
      throw new RealtimeOptionsError(
        where,
        `defines event ${describeValue(definition.event)}, which ${EVENT_CATALOGUE.get(other.event) === other ? 'is built in' : 'is already defined'}`,
      );
    }
    const existing = this.byChannel.get(definition.channel);
    const key = definition.key;
    if (existing) {
      if (existing.builtIn && !builtIn && definition.channel !== SYSTEM_CHANNEL) {
        throw new RealtimeOptionsError(
          where,
          `uses channel ${describeValue(definition.channel)}, which is built in; choose another name`,
        );
      }
      if (
        routingOf(existing.routing) !== routingOf(definition.routing) ||
        existing.key?.field !== key?.field
      ) {
        throw new RealtimeOptionsError(
          where,
          `uses channel ${describeValue(definition.channel)} with ${routingOf(definition.routing)} routing, but its other events use ${routingOf(existing.routing)}${existing.key ? ` by ${existing.key.field}` : ''}`,
        );
      }
      (existing.events as CatalogueEvent[]).push(definition);
    } else {
      this.byChannel.set(definition.channel, {
        name: definition.channel,
        routing: definition.routing === 'allSymbols' ? 'symbol' : definition.routing,
        key,
        private: definition.routing === 'user',
        builtIn,
        events: [definition],
      });
    }
    this.byEvent.set(definition.event, definition);
  }
}

/** `ticker:all` is the ticker channel's own room; both route by symbol. */
function routingOf(routing: CatalogueEvent['routing']): string {
  if (routing === 'allSymbols') return 'symbol';
  return routing;
}

/** A custom definition from code or a file, checked field by field. */
function checked(definition: CustomEventDefinition, where: string): CustomEventDefinition {
  const fail = (field: string, problem: string): never => {
    throw new RealtimeOptionsError(`${where}.${field}`, problem);
  };
  if (typeof definition !== 'object' || definition === null)
    fail('event', 'must be an event definition');
  const { event, channel, routing } = definition;
  if (typeof event !== 'string' || event.length > MAX_NAME || !EVENT_NAME.test(event))
    fail(
      'event',
      `must be a lower-case dotted name such as "funding.rate", got ${describeValue(event)}`,
    );
  if (RESERVED_EVENTS.has(event))
    fail('event', `${describeValue(event)} is a protocol message name`);
  if (!['symbol', 'symbolKey', 'user', 'everyone'].includes(routing))
    fail('routing', `must be symbol, symbolKey, user or everyone, got ${describeValue(routing)}`);
  if (typeof channel !== 'string' || channel.length > MAX_NAME || !CHANNEL_NAME.test(channel))
    fail('channel', `must be a lower-case name such as "funding", got ${describeValue(channel)}`);
  if (routing === 'user' && !channel.startsWith('user.'))
    fail('channel', `of a private event must start with "user.", got ${describeValue(channel)}`);
  if (routing !== 'user' && channel.startsWith('user.'))
    fail('channel', `"user." channels are private: use routing "user"`);
  if (routing === 'everyone' && channel !== SYSTEM_CHANNEL)
    fail('channel', `of an event for everyone is "${SYSTEM_CHANNEL}"`);
  if (routing !== 'everyone' && channel === SYSTEM_CHANNEL)
    fail('channel', `"${SYSTEM_CHANNEL}" is for events to everyone`);
  if (routing === 'symbolKey') {
    const field = definition.key?.field;
    if (typeof field !== 'string' || !KEY_FIELD.test(field) || RESERVED_KEY_FIELDS.has(field))
      fail(
        'key',
        `must be a field name such as "chain" (not channel, symbol, since, rate, depth, event, seq, ts, replay, data), got ${describeValue(field)}`,
      );
    const values = definition.key?.values;
    if (
      values !== undefined &&
      (!Array.isArray(values) ||
        values.length === 0 ||
        !values.every((v) => typeof v === 'string' && ID_REGEX.test(v)))
    )
      fail('key', 'values must be a non-empty list of ids');
  } else if (definition.key !== undefined) {
    fail('key', 'applies only to symbolKey routing');
  }
  if (typeof definition.schema !== 'object' || definition.schema === null)
    fail('schema', 'must be an object of field rules');
  return definition;
}
