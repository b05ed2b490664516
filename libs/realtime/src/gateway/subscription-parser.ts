import { Inject, Injectable } from '@nestjs/common';
import { validateSync } from 'class-validator';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { ALL_SYMBOLS } from '../events/channels.js';
import { ID_REGEX, isPlainObject } from '../events/payload-schema.js';
import { RealtimeCatalogue, type CatalogueChannel } from '../events/realtime-catalogue.js';
import { TICKER_ALL_ROOM, marketRoom } from '../events/rooms.js';
import { RealtimeErrorCode, RealtimeException, describeValue } from '../errors/index.js';
import { MarketSubscriptionDto, UserSubscriptionDto } from './subscription.dto.js';

export interface MarketSubscription {
  readonly channel: string;
  readonly symbol: string;
  /** A keyed channel's key (klines: the interval). */
  readonly key?: string;
  readonly room: string;
  /** The subscription as the client named it, normalised: what the answer echoes. */
  readonly named: Readonly<Record<string, string>>;
}

const TICKER = 'ticker';

/**
 * Turns what a client sent into a subscription of the merged catalogue, or throws the
 * documented error. A keyed channel takes its key under the key's own name (klines:
 * `interval`), nothing else beside `channel` and `symbol`.
 */
@Injectable()
export class SubscriptionParser {
  private readonly publicNames: string;
  private readonly privateNames: string;
  /** Each key field, for a subscription that sends it to a channel without that key. */
  private readonly keyFields = new Map<string, { channels: string[]; code: RealtimeErrorCode }>();

  constructor(
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RealtimeCatalogue) private readonly catalogue: RealtimeCatalogue,
  ) {
    this.publicNames = catalogue
      .publicChannels()
      .map((c) => c.name)
      .join(', ');
    this.privateNames = catalogue
      .privateChannels()
      .map((c) => c.name)
      .join(', ');
    for (const { name, key } of catalogue.publicChannels()) {
      if (!key) continue;
      const known = this.keyFields.get(key.field);
      if (known) known.channels.push(name);
      else
        this.keyFields.set(key.field, {
          channels: [name],
          code: key.invalidCode ?? RealtimeErrorCode.InvalidPayload,
        });
    }
  }

  market(body: unknown): MarketSubscription {
    const channel = this.channelOf(body, false);
    const field = channel.key?.field;
    for (const [other, { channels, code }] of this.keyFields) {
      if (other !== field && Object.hasOwn(body as object, other))
        throw new RealtimeException(code, `${other} applies only to ${channels.join(', ')}`);
    }
    const dto = validated(
      MarketSubscriptionDto,
      body,
      field ? ['channel', 'symbol', field] : ['channel', 'symbol'],
    );
    const key = field === undefined ? undefined : this.keyOf(channel, (body as never)[field]);
    const named: Record<string, string> = { channel: channel.name, symbol: ALL_SYMBOLS };
    if (dto.symbol.toLowerCase() === ALL_SYMBOLS) {
      if (channel.name !== TICKER) {
        throw new RealtimeException(
          RealtimeErrorCode.InvalidSymbol,
          `symbol "all" applies only to ticker`,
        );
      }
      return { channel: TICKER, symbol: ALL_SYMBOLS, room: TICKER_ALL_ROOM, named };
    }
    const symbol = this.settings.symbols.normalize(dto.symbol);
    const problem = this.settings.symbols.problem(symbol);
    if (problem) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidSymbol,
        `symbol ${problem}, got ${describeValue(symbol)}`,
      );
    }
    named.symbol = symbol;
    if (key !== undefined) named[field!] = key;
    return {
      channel: channel.name,
      symbol,
      key,
      room: marketRoom(channel.name, symbol, key),
      named,
    };
  }

  user(body: unknown): string {
    this.channelOf(body, true);
    return validated(UserSubscriptionDto, body, ['channel']).channel;
  }

  private channelOf(body: unknown, wantPrivate: boolean): CatalogueChannel {
    if (!isPlainObject(body)) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        `payload must be an object, got ${describeValue(body)}`,
      );
    }
    const name = body.channel;
    if (name === undefined || name === null)
      throw new RealtimeException(RealtimeErrorCode.InvalidPayload, 'channel is required');
    const channel = typeof name === 'string' ? this.catalogue.channel(name) : undefined;
    if (!channel || channel.private !== wantPrivate || channel.routing === 'everyone') {
      throw new RealtimeException(
        RealtimeErrorCode.UnknownChannel,
        `channel must be one of ${wantPrivate ? this.privateNames : this.publicNames}, got ${describeValue(name)}`,
      );
    }
    return channel;
  }

  private keyOf(channel: CatalogueChannel, value: unknown): string {
    const { field, values, invalidCode = RealtimeErrorCode.InvalidPayload } = channel.key!;
    if (value === undefined)
      throw new RealtimeException(invalidCode, `${field} is required for ${channel.name}`);
    const valid =
      typeof value === 'string' && (values ? values.includes(value) : ID_REGEX.test(value));
    if (!valid) {
      throw new RealtimeException(
        invalidCode,
        `${field} must be ${values ? `one of ${values.join(', ')}` : 'an id (1-128 of A-Z a-z 0-9 _ . @ -)'}, got ${describeValue(value)}`,
      );
    }
    return value as string;
  }
}

function validated<T extends object>(
  type: new () => T,
  body: unknown,
  fields: readonly string[],
): T {
  // Copy only the known fields: the body came from JSON.parse and may carry `__proto__`.
  const dto = new type() as Record<string, unknown>;
  for (const key of Object.keys(body as object)) {
    if (!fields.includes(key)) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        `unknown field ${describeValue(key)}; allowed: ${fields.join(', ')}`,
      );
    }
    if (key === 'channel' || key === 'symbol') dto[key] = (body as Record<string, unknown>)[key];
  }
  const [error] = validateSync(dto, { stopAtFirstError: true, forbidUnknownValues: true });
  if (error) {
    const [constraint, message] = Object.entries(error.constraints ?? {})[0] ?? ['', 'is invalid'];
    const code =
      (error.contexts?.[constraint]?.code as RealtimeErrorCode | undefined) ??
      RealtimeErrorCode.InvalidPayload;
    throw new RealtimeException(code, message);
  }
  return dto as T;
}
