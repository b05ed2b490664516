import {
  IsDefined,
  IsString,
  type ValidationArguments,
  type ValidationOptions,
} from 'class-validator';
import { describeValue } from '../errors/describe-value.js';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';

/** Attaches the error code a failed check answers with. */
function answers(code: RealtimeErrorCode, expected?: string): ValidationOptions {
  if (!expected) return { context: { code } };
  return {
    context: { code },
    message: ({ property, value }: ValidationArguments) =>
      `${property} must be ${expected}, got ${describeValue(value)}`,
  };
}

/**
 * Longest symbol a client may send, in characters (code points), before the symbol rule
 * looks at it; the parser counts them.
 */
export const MAX_CLIENT_SYMBOL_LENGTH = 64;

/**
 * `subscribe` / `unsubscribe` payload. Which channels exist, and which key a channel takes
 * (klines: `interval`), is the merged catalogue's: the parser checks those, and a symbol's
 * length and characters.
 */
export class MarketSubscriptionDto {
  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.UnknownChannel))
  channel!: string;

  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.InvalidSymbol, 'a string'))
  symbol!: string;
}

/** `subscribe.private` / `unsubscribe.private` payload. */
export class UserSubscriptionDto {
  @IsDefined(answers(RealtimeErrorCode.InvalidPayload))
  @IsString(answers(RealtimeErrorCode.UnknownChannel))
  channel!: string;
}
