import { RealtimeErrorCode } from './realtime-error-code.js';

/** A refusal the client is told about, with its stable code. */
export class RealtimeException extends Error {
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RealtimeException';
  }
}
