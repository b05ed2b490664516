import { Inject, Injectable } from '@nestjs/common';
import { ReadinessRegistry, type ReadinessStatus } from './readiness-check.js';

/** What the indicator reports under its key, in Terminus's result shape. */
export interface RealtimeHealth {
  status: 'up' | 'down';
  /** Each dependency's readiness (Redis, Kafka, draining, and any check the host added). */
  checks: Record<string, ReadinessStatus>;
}

/**
 * The module's readiness as a health indicator for `@nestjs/terminus`, so a host app serves
 * the gateway's health beside its own: `health.check([() => realtime.isHealthy()])`. It
 * returns Terminus's result shape without importing Terminus, so a host that does not use
 * Terminus needs nothing more.
 */
@Injectable()
export class RealtimeHealthIndicator {
  constructor(@Inject(ReadinessRegistry) private readonly readiness: ReadinessRegistry) {}

  /** `{ [key]: { status, checks } }`; `down` while Redis or Kafka is away or while draining. */
  isHealthy<const Key extends string = 'realtime'>(
    key: Key = 'realtime' as Key,
  ): Record<Key, RealtimeHealth> {
    const { ready, checks } = this.readiness.report();
    return { [key]: { status: ready ? 'up' : 'down', checks } } as Record<Key, RealtimeHealth>;
  }
}
