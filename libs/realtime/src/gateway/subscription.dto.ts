import {
  IsDefined,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  type ValidationOptions,
} from 'class-validator';
import { KLINE_INTERVALS, MARKET_CHANNELS, USER_CHANNELS } from '../events/channels.js';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';

/** Attaches the error code a failed check answers with. */
function answers(code: RealtimeErrorCode): ValidationOptions {
  return { context: { code } };
}

/** Longest symbol a client may send, before the symbol rule looks at it. */
export const MAX_CLIENT_SYMBOL_LENGTH = 64;

/** `subscribe` / `unsubscribe` payload. */
export class MarketSubscriptionDto {
  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.UnknownChannel))
  @IsIn(MARKET_CHANNELS, answers(RealtimeErrorCode.UnknownChannel))
  channel!: string;

  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.InvalidSymbol))
  @MaxLength(MAX_CLIENT_SYMBOL_LENGTH, answers(RealtimeErrorCode.InvalidSymbol))
  symbol!: string;

  @IsOptional()
  @IsString(answers(RealtimeErrorCode.InvalidInterval))
  @IsIn(KLINE_INTERVALS, answers(RealtimeErrorCode.InvalidInterval))
  interval?: string;
}

/** `subscribe.private` / `unsubscribe.private` payload. */
export class UserSubscriptionDto {
  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.UnknownChannel))
  @IsIn(USER_CHANNELS, answers(RealtimeErrorCode.UnknownChannel))
  channel!: string;
}
