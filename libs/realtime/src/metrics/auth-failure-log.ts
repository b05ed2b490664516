import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RealtimeException } from '../errors/realtime.exception.js';
import { CountedLog } from './counted-log.js';
import { RealtimeMetrics } from './realtime-metrics.js';

/** Refused tokens, counted by code and reason; the token itself is never logged. */
@Injectable()
export class AuthFailureLog extends CountedLog {
  constructor(@Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics) {
    super(new Logger('Auth'));
  }

  refuse(stage: 'connect' | 'refresh', failure: RealtimeException): void {
    this.metrics.authFailure(failure.code);
    this.record(
      `${stage} ${failure.code} ${failure.message}`,
      () => `Refused a token at ${stage}: ${failure.code} ${failure.message}`,
    );
  }
}
