import { describe, expect, it } from '@jest/globals';
import { topLevelChanges } from './top-level-changes.js';

describe('topLevelChanges', () => {
  it('names what entered, changed, left and was spelled anew, bids highest first', () => {
    expect(
      topLevelChanges(
        [
          ['100', '1'],
          ['99.5', '2'],
          ['99', '3'],
        ],
        [
          ['100.0', '1'],
          ['99', '4'],
          ['98', '1'],
        ],
        true,
      ),
    ).toEqual([
      ['100', '0'],
      ['100.0', '1'],
      ['99.5', '0'],
      ['99', '4'],
      ['98', '1'],
    ]);
  });

  it('asks lowest first; nothing for equal tops', () => {
    const top: [string, string][] = [
      ['101', '1'],
      ['102', '1'],
    ];
    expect(topLevelChanges(top, top, false)).toEqual([]);
    expect(topLevelChanges(top, [['102', '1']], false)).toEqual([['101', '0']]);
    expect(topLevelChanges([], top, false)).toEqual(top);
  });
});
