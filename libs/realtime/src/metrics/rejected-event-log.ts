import { Injectable, Logger } from '@nestjs/common';
import type { PayloadViolation } from '../events/payload-schema.js';

/** Where an event entered the gateway. */
export type Ingress = 'emitter' | 'kafka' | 'http';

/**
 * Counts events refused at any ingress. Each kind of refusal (ingress, event, code, field)
 * is logged the first time only, so a broken producer cannot flood the log.
 */
@Injectable()
export class RejectedEventLog {
  private readonly logger = new Logger('RejectedEvents');
  private readonly countsByKind = new Map<string, number>();

  record(ingress: Ingress, event: string, violation: PayloadViolation): void {
    // Indices are left out of the kind so that one bad order-book level is one kind.
    const kind = `${ingress} ${event} ${violation.code} ${violation.field.replace(/\[\d+\]/g, '[]')}`;
    const count = this.countsByKind.get(kind);
    this.countsByKind.set(kind, (count ?? 0) + 1);
    if (count === undefined) {
      this.logger.warn(
        `Refused ${event} from ${ingress}: ${violation.code} ${violation.message} (logged once per kind)`,
      );
    }
  }

  /** Refusals so far, keyed `ingress event code field`. */
  counts(): ReadonlyMap<string, number> {
    return this.countsByKind;
  }

  total(): number {
    let sum = 0;
    for (const count of this.countsByKind.values()) sum += count;
    return sum;
  }
}
