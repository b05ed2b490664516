import { Inject, Injectable } from '@nestjs/common';
import { validateSync } from 'class-validator';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { ALL_SYMBOLS } from '../events/channels.js';
import { RealtimeEvent } from '../events/event-catalogue.js';
import { ID_REGEX, isPlainObject } from '../events/payload-schema.js';
import {
  BOOK_DEPTHS,
  FEED_RATES,
  isBookDepth,
  isFeedRate,
  type FeedChoice,
} from '../feeds/feed-choice.js';
import { RealtimeCatalogue, type CatalogueChannel } from '../events/realtime-catalogue.js';
import { TICKER_ALL_ROOM, marketRoom } from '../events/rooms.js';
import { RealtimeErrorCode, RealtimeException, describeValue } from '../errors/index.js';
import { MAX_EPOCH_LENGTH, type StreamPosition } from '../recovery/stream-position.js';
import {
  MAX_CLIENT_SYMBOL_LENGTH,
  MarketSubscriptionDto,
  UserSubscriptionDto,
} from './subscription.dto.js';

export interface MarketSubscription {
  readonly channel: string;
  readonly symbol: string;
  /** A keyed channel's key (klines: the interval). */
  readonly key?: string;
  readonly room: string;
  /** The subscription as the client named it, normalised: what the answer echoes. */
  readonly named: Readonly<Record<string, string | number>>;
  /** Where the client's stream stood, to catch up from (`subscribe` only). */
  readonly since?: StreamPosition;
  /** The rate (and book depth) it chose; `realtime`, whole, by default. */
  readonly feed: FeedChoice;
}

export interface UserSubscription {
  readonly channel: string;
  readonly since?: StreamPosition;
}

const SINCE = 'since';
const RATE = 'rate';
const DEPTH = 'depth';
const REALTIME: FeedChoice = { rate: 'realtime' };
const EPOCH_PATTERN = /^[A-Za-z0-9._:-]+$/;

const TICKER = 'ticker';
/** Longest value an answer echoes, in characters; longer ones are cut and end in `...`. */
const MAX_ECHOED_CHARACTERS = 64;
const PRIVATE_FIELDS: readonly string[] = ['channel'];

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
  /** The fields of a market subscription an answer echoes. */
  private readonly marketFields: string[] = ['channel', 'symbol', RATE];
  private readonly bookChannel: string;

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
    this.marketFields.push(...this.keyFields.keys());
    this.bookChannel = catalogue.definition(RealtimeEvent.OrderBookSnapshot)!.channel;
  }

  /**
   * What a refused market subscription's answer echoes so a client without acks can tell
   * which one failed: the subscription fields it sent as strings, as sent, cut when long.
   */
  echoMarket(body: unknown): Record<string, string> {
    return echoOf(body, this.marketFields);
  }

  /** The same for a refused private subscription: its channel. */
  echoUser(body: unknown): Record<string, string> {
    return echoOf(body, PRIVATE_FIELDS);
  }

  /** A market subscription; `since` is allowed when `withSince` (subscribe, not unsubscribe). */
  market(body: unknown, withSince = false): MarketSubscription {
    const channel = this.channelOf(body, false);
    const field = channel.key?.field;
    for (const [other, { channels, code }] of this.keyFields) {
      if (other !== field && Object.hasOwn(body as object, other))
        throw new RealtimeException(code, `${other} applies only to ${channels.join(', ')}`);
    }
    const book = channel.name === this.bookChannel;
    if (!book && Object.hasOwn(body as object, DEPTH))
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        `depth applies only to ${this.bookChannel}`,
      );
    const fields = field ? ['channel', 'symbol', field, RATE] : ['channel', 'symbol', RATE];
    if (book) fields.push(DEPTH);
    if (withSince) fields.push(SINCE);
    const dto = validated(MarketSubscriptionDto, body, fields);
    const since = withSince ? sinceOf(body) : undefined;
    const feed = this.feedOf(body as Record<string, unknown>);
    const key = field === undefined ? undefined : this.keyOf(channel, (body as never)[field]);
    const sentProblem = this.sentSymbolProblem(dto.symbol);
    if (sentProblem) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidSymbol,
        `symbol ${sentProblem}, got ${describeSent(dto.symbol)}`,
      );
    }
    const named: Record<string, string | number> = { channel: channel.name, symbol: ALL_SYMBOLS };
    if (dto.symbol.toLowerCase() === ALL_SYMBOLS) {
      if (channel.name !== TICKER) {
        throw new RealtimeException(
          RealtimeErrorCode.InvalidSymbol,
          `symbol "all" applies only to ticker`,
        );
      }
      return {
        channel: TICKER,
        symbol: ALL_SYMBOLS,
        room: TICKER_ALL_ROOM,
        named: withFeed(named, feed),
        since,
        feed,
      };
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
      named: withFeed(named, feed),
      since,
      feed,
    };
  }

  /** The rate and depth a market subscription chose, checked (depth is a book's only). */
  private feedOf(body: Record<string, unknown>): FeedChoice {
    const rate = body[RATE];
    const depth = body[DEPTH];
    if (rate === undefined && depth === undefined) return REALTIME;
    if (rate !== undefined && !isFeedRate(rate))
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        `rate must be one of ${FEED_RATES.join(', ')}, got ${describeValue(rate)}`,
      );
    if (depth === undefined) return { rate: rate ?? 'realtime' };
    if (!isBookDepth(depth))
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        `depth must be one of ${BOOK_DEPTHS.join(', ')}, got ${describeValue(depth)}`,
      );
    return { rate: rate ?? 'realtime', depth };
  }

  /** A private subscription; `since` is allowed when `withSince`. */
  user(body: unknown, withSince = false): UserSubscription {
    this.channelOf(body, true);
    const { channel } = validated(
      UserSubscriptionDto,
      body,
      withSince ? ['channel', SINCE] : ['channel'],
    );
    return { channel, since: withSince ? sinceOf(body) : undefined };
  }

  /** Why a sent symbol is no symbol before it is upper-cased: too long, or not ASCII. */
  private sentSymbolProblem(sent: string): string | null {
    if (longerThan(sent, MAX_CLIENT_SYMBOL_LENGTH))
      return `must be at most ${MAX_CLIENT_SYMBOL_LENGTH} characters`;
    return this.settings.symbols.sentProblem(sent);
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

/** What an answer echoes of a subscription's feed: a rate other than realtime, a depth. */
function withFeed(
  named: Record<string, string | number>,
  feed: FeedChoice,
): Readonly<Record<string, string | number>> {
  if (feed.rate !== 'realtime') named[RATE] = feed.rate;
  if (feed.depth !== undefined) named[DEPTH] = feed.depth;
  return named;
}

/** The `since` a subscription carries, checked; undefined when it has none. */
function sinceOf(body: unknown): StreamPosition | undefined {
  const since = (body as Record<string, unknown>)[SINCE];
  if (since === undefined) return undefined;
  if (!isPlainObject(since))
    throw new RealtimeException(
      RealtimeErrorCode.InvalidPayload,
      `since must be { offset, epoch } as a message carried them, got ${describeValue(since)}`,
    );
  for (const key of Object.keys(since)) {
    if (key !== 'offset' && key !== 'epoch')
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        `unknown field since.${cut(key)}; allowed: offset, epoch`,
      );
  }
  const { offset, epoch } = since;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
    throw new RealtimeException(
      RealtimeErrorCode.InvalidPayload,
      `since.offset must be a whole number from 0, got ${describeValue(offset)}`,
    );
  if (
    typeof epoch !== 'string' ||
    epoch.length === 0 ||
    epoch.length > MAX_EPOCH_LENGTH ||
    !EPOCH_PATTERN.test(epoch)
  )
    throw new RealtimeException(
      RealtimeErrorCode.InvalidPayload,
      `since.epoch must be the epoch a message carried (1-${MAX_EPOCH_LENGTH} of A-Z a-z 0-9 . _ : -), got ${describeValue(epoch)}`,
    );
  return { offset, epoch };
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

/**
 * Whether `text` has more than `max` characters (code points): lengths count what the docs
 * call characters, not UTF-16 units, and a long string is not walked to its end.
 */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let count = 0;
  for (let i = 0; i < text.length; i += unitsAt(text, i)) if (++count > max) return true;
  return false;
}

function charactersOf(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i += unitsAt(text, i)) count++;
  return count;
}

/** The first `MAX_ECHOED_CHARACTERS` characters of `text` and `...`, never splitting one. */
function cut(text: string): string {
  if (!longerThan(text, MAX_ECHOED_CHARACTERS)) return text;
  let end = 0;
  for (let count = 0; count < MAX_ECHOED_CHARACTERS; count++) end += unitsAt(text, end);
  return text.slice(0, end) + '...';
}

/** A sent symbol for an error message: quoted, cut, with its length in characters when cut. */
function describeSent(sent: string): string {
  const shown = cut(sent);
  if (shown === sent) return JSON.stringify(sent);
  return `${JSON.stringify(shown)} (${charactersOf(sent)} characters)`;
}

/** How many UTF-16 units the character at `i` takes: 2 for a surrogate pair, else 1. */
function unitsAt(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit < 0xd800 || unit > 0xdbff) return 1;
  const next = text.charCodeAt(i + 1);
  return next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
}

function echoOf(body: unknown, fields: readonly string[]): Record<string, string> {
  const echo: Record<string, string> = {};
  if (!isPlainObject(body)) return echo;
  for (const field of fields) {
    const value = Object.hasOwn(body, field) ? body[field] : undefined;
    if (typeof value === 'string') echo[field] = cut(value);
  }
  return echo;
}
