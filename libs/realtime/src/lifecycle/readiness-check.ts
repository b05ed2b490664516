import { Injectable } from '@nestjs/common';

/** One dependency's part in readiness. */
export interface ReadinessStatus {
  ready: boolean;
  /** A short state word, e.g. `ready`, `connecting`, `draining`. */
  state: string;
  /** Why it is not ready, when known. */
  problem?: string;
}

/** Something readiness depends on: Kafka, Redis, draining. */
export interface ReadinessCheck {
  readonly name: string;
  readiness(): ReadinessStatus;
}

/** What readiness depends on; modules and apps add their checks. */
@Injectable()
export class ReadinessRegistry {
  private readonly checks: ReadinessCheck[] = [];

  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  report(): { ready: boolean; checks: Record<string, ReadinessStatus> } {
    const checks = Object.fromEntries(this.checks.map((check) => [check.name, check.readiness()]));
    return { ready: Object.values(checks).every((status) => status.ready), checks };
  }
}
