import { IsDefined, IsString, MaxLength, type ValidationOptions } from 'class-validator';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';

/** Attaches the error code a failed check answers with. */
function answers(code: RealtimeErrorCode): ValidationOptions {
  return { context: { code } };
}

/** Longest symbol a client may send, before the symbol rule looks at it. */
export const MAX_CLIENT_SYMBOL_LENGTH = 64;

/**
 * `subscribe` / `unsubscribe` payload. Which channels exist, and which key a channel takes
 * (klines: `interval`), is the merged catalogue's: the parser checks those.
 */
export class MarketSubscriptionDto {
  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.UnknownChannel))
  channel!: string;

  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.InvalidSymbol))
  @MaxLength(MAX_CLIENT_SYMBOL_LENGTH, answers(RealtimeErrorCode.InvalidSymbol))
  symbol!: string;
}

/** `subscribe.private` / `unsubscribe.private` payload. */
export class UserSubscriptionDto {
  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.UnknownChannel))
  channel!: string;
}
