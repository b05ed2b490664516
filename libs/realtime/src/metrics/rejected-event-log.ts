import { Inject, Injectable, Logger } from '@nestjs/common';
import type { PayloadViolation } from '../events/payload-schema.js';
import { CountedLog } from './counted-log.js';
import { RealtimeMetrics } from './realtime-metrics.js';

/** Where an event entered the gateway. */
export type Ingress = 'emitter' | 'kafka' | 'http' | 'admin' | 'cluster';

/** Events refused at any ingress, counted by kind (ingress, event, code, field). */
@Injectable()
export class RejectedEventLog extends CountedLog {
  constructor(@Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics) {
    super(new Logger('RejectedEvents'));
  }

  refuse(ingress: Ingress, event: string, violation: PayloadViolation): void {
    // Indices are left out of the kind so that one bad order-book level is one kind.
    const field = violation.field.replace(/\[\d+\]/g, '[]');
    this.metrics.rejection(ingress, violation.code);
    this.record(
      `${ingress} ${event} ${violation.code} ${field}`,
      () => `Refused ${event} from ${ingress}: ${violation.code} ${violation.message}`,
    );
  }
}
