import type { Logger } from '@nestjs/common';

/**
 * Counts occurrences by kind and logs each kind the first time only, so a flood of the same
 * failure costs a counter increment, not a log line.
 */
export class CountedLog {
  private readonly countsByKind = new Map<string, number>();

  constructor(private readonly logger: Logger) {}

  record(kind: string, describe: () => string): void {
    const count = this.countsByKind.get(kind);
    this.countsByKind.set(kind, (count ?? 0) + 1);
    if (count === undefined) this.logger.warn(`${describe()} (logged once per kind)`);
  }

  counts(): ReadonlyMap<string, number> {
    return this.countsByKind;
  }

  total(): number {
    let sum = 0;
    for (const count of this.countsByKind.values()) sum += count;
    return sum;
  }
}
