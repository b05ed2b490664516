import type { BookLevel } from './order-book.js';

/**
 * What turns `before` into `after`, two best-first lists of one side's top levels: each
 * level that is new or changed (absolute quantity), `"0"` for each that left (removed, or
 * pushed below the top), and for a price spelled anew the old spelling's `"0"` first. A
 * client holding exactly `before` holds exactly `after` once it applied them, trimming
 * nothing itself. `descending` for bids.
 */
export function topLevelChanges(
  before: readonly BookLevel[],
  after: readonly BookLevel[],
  descending: boolean,
): BookLevel[] {
  const changes: BookLevel[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const old = before[i];
    const now = after[j];
    if (old === undefined) {
      changes.push(now!);
      j++;
      continue;
    }
    if (now === undefined) {
      changes.push([old[0], '0']);
      i++;
      continue;
    }
    const oldValue = Number(old[0]);
    const nowValue = Number(now[0]);
    if (oldValue === nowValue) {
      if (old[0] !== now[0]) changes.push([old[0], '0'], now);
      else if (old[1] !== now[1]) changes.push(now);
      i++;
      j++;
    } else if (descending ? oldValue > nowValue : oldValue < nowValue) {
      // `old` sorts before `now`: it is no longer there.
      changes.push([old[0], '0']);
      i++;
    } else {
      changes.push(now);
      j++;
    }
  }
  return changes;
}
