import { Inject, Injectable } from '@nestjs/common';
import { validateSync } from 'class-validator';
import { RealtimeSettings } from '../config/realtime-settings.js';
import {
  ALL_SYMBOLS,
  type KlineInterval,
  type MarketChannel,
  type UserChannel,
} from '../events/channels.js';
import { isPlainObject } from '../events/payload-schema.js';
import { TICKER_ALL_ROOM, marketRoom } from '../events/rooms.js';
import { RealtimeErrorCode, RealtimeException, describeValue } from '../errors/index.js';
import { MarketSubscriptionDto, UserSubscriptionDto } from './subscription.dto.js';

export interface MarketSubscription {
  readonly channel: MarketChannel;
  readonly symbol: string;
  readonly interval?: KlineInterval;
  readonly room: string;
}

/** Turns what a client sent into a subscription, or throws the documented error. */
@Injectable()
export class SubscriptionParser {
  constructor(@Inject(RealtimeSettings) private readonly settings: RealtimeSettings) {}

  market(body: unknown): MarketSubscription {
    const dto = validated(MarketSubscriptionDto, body, ['channel', 'symbol', 'interval']);
    const channel = dto.channel as MarketChannel;
    const interval = (dto.interval ?? undefined) as KlineInterval | undefined;
    if (channel === 'klines' && interval === undefined) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidInterval,
        'interval is required for klines',
      );
    }
    if (channel !== 'klines' && interval !== undefined) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidInterval,
        'interval applies only to klines',
      );
    }
    if (dto.symbol.toLowerCase() === ALL_SYMBOLS) {
      if (channel !== 'ticker') {
        throw new RealtimeException(
          RealtimeErrorCode.InvalidSymbol,
          `symbol "all" applies only to ticker`,
        );
      }
      return { channel, symbol: ALL_SYMBOLS, room: TICKER_ALL_ROOM };
    }
    const symbol = this.settings.symbols.normalize(dto.symbol);
    const problem = this.settings.symbols.problem(symbol);
    if (problem) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidSymbol,
        `symbol ${problem}, got ${describeValue(symbol)}`,
      );
    }
    return { channel, symbol, interval, room: marketRoom(channel, symbol, interval) };
  }

  user(body: unknown): UserChannel {
    return validated(UserSubscriptionDto, body, ['channel']).channel as UserChannel;
  }
}

function validated<T extends object>(
  type: new () => T,
  body: unknown,
  fields: readonly string[],
): T {
  if (!isPlainObject(body)) {
    throw new RealtimeException(
      RealtimeErrorCode.InvalidPayload,
      `payload must be an object, got ${describeValue(body)}`,
    );
  }
  // Copy only the known fields: the body came from JSON.parse and may carry `__proto__`.
  const dto = new type() as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) {
      throw new RealtimeException(
        RealtimeErrorCode.InvalidPayload,
        `unknown field ${describeValue(key)}; allowed: ${fields.join(', ')}`,
      );
    }
    dto[key] = body[key];
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
