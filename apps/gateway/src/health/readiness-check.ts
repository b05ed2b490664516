/** One dependency's part in readiness. */
export interface ReadinessStatus {
  ready: boolean;
  /** A short state word, e.g. `ready`, `connecting`. */
  state: string;
  /** Why it is not ready, when known. */
  problem?: string;
}

/** Something readiness depends on (Kafka now; Redis and draining later). */
export interface ReadinessCheck {
  readonly name: string;
  readiness(): ReadinessStatus;
}

/** Injection token of the gateway's ReadinessCheck list. */
export const ReadinessChecks = Symbol('ReadinessChecks');
export type ReadinessChecks = readonly ReadinessCheck[];
