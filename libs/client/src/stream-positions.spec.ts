import { describe, expect, it } from '@jest/globals';
import { StreamPositions, positionOf } from './stream-positions.js';

const KEY = 'trades:BTCUSDT';
const at = (offset: number, epoch = 'e1') => ({ offset, epoch });

describe('StreamPositions', () => {
  it('follows a live stream offset by offset and tells a gap within the epoch', () => {
    const positions = new StreamPositions();
    expect(positions.received(KEY, at(7), false)).toEqual({ kind: 'first' });
    expect(positions.received(KEY, at(8), false)).toEqual({ kind: 'next' });
    expect(positions.received(KEY, at(11), false)).toEqual({
      kind: 'gap',
      gap: { key: KEY, epoch: 'e1', expected: 9, received: 11 },
    });
    expect(positions.received(KEY, at(12), false)).toEqual({ kind: 'next' });
    // A repeated offset is no continuation either.
    expect(positions.received(KEY, at(12), false)).toEqual({
      kind: 'gap',
      gap: { key: KEY, epoch: 'e1', expected: 13, received: 12 },
    });
    expect(positions.get(KEY)).toEqual(at(12));
  });

  it('tells a live message of another epoch as a reset, not a gap', () => {
    const positions = new StreamPositions();
    positions.received(KEY, at(40), false);
    expect(positions.received(KEY, at(1, 'e2'), false)).toEqual({
      kind: 'reset',
      previous: at(40),
      position: at(1, 'e2'),
    });
    expect(positions.received(KEY, at(2, 'e2'), false)).toEqual({ kind: 'next' });
  });

  it('lets replayed messages set the position (the next live one is one more)', () => {
    const positions = new StreamPositions();
    positions.received(KEY, at(3), false);
    expect(positions.received(KEY, at(90, 'e2'), true)).toEqual({ kind: 'replay' });
    expect(positions.received(KEY, at(90, 'e2'), true)).toEqual({ kind: 'replay' });
    expect(positions.received(KEY, at(91, 'e2'), false)).toEqual({ kind: 'next' });
  });

  it('takes the position of a fresh subscribe answer, and keeps what it knows when there is none', () => {
    const positions = new StreamPositions();
    expect(positions.answered(KEY, { position: at(5) })).toBeUndefined();
    expect(positions.get(KEY)).toEqual(at(5));
    expect(positions.received(KEY, at(6), false)).toEqual({ kind: 'next' });
    // A second subscribe on the same connection is answered without a position.
    expect(positions.answered(KEY, {})).toBeUndefined();
    expect(positions.get(KEY)).toEqual(at(6));
    expect(positions.received(KEY, at(7), false)).toEqual({ kind: 'next' });
    // A first one the gateway could not place: nothing to check the next message against.
    expect(positions.answered('user.orders', {})).toBeUndefined();
    expect(positions.get('user.orders')).toBeUndefined();
    expect(positions.received('user.orders', at(2, 'e9'), false)).toEqual({ kind: 'first' });
  });

  it('after a recovered resubscribe, expects the missed messages from since + 1, and counts them', () => {
    const positions = new StreamPositions();
    positions.received(KEY, at(10), false);
    const since = positions.get(KEY)!;
    expect(positions.answered(KEY, { position: at(13), recovered: true }, since)).toEqual({
      recovered: true,
      missed: 3,
    });
    expect(positions.get(KEY)).toEqual(at(10));
    for (const offset of [11, 12, 13, 14])
      expect(positions.received(KEY, at(offset), false)).toEqual({ kind: 'next' });
  });

  it('recovered with nothing missed', () => {
    const positions = new StreamPositions();
    expect(positions.answered(KEY, { position: at(4), recovered: true }, at(4))).toEqual({
      recovered: true,
      missed: 0,
    });
  });

  it.each([
    ['epoch_changed', { position: at(2, 'e2'), recovered: false, reason: 'epoch_changed' }],
    ['too_old', { position: at(5000), recovered: false, reason: 'too_old' }],
    ['history_off', { position: at(77), recovered: false, reason: 'history_off' }],
    ['unavailable', { position: undefined, recovered: false, reason: 'unavailable' }],
  ] as const)('not recovered (%s): the position starts over from the answer', (reason, answer) => {
    const positions = new StreamPositions();
    positions.received(KEY, at(10), false);
    expect(positions.answered(KEY, answer, at(10))).toEqual({ recovered: false, reason });
    expect(positions.get(KEY)).toEqual(answer.position);
    if (answer.position)
      expect(positions.received(KEY, answer.position, true)).toEqual({ kind: 'replay' });
  });

  it('says unavailable for an answer to since that gives no usable reason', () => {
    const positions = new StreamPositions();
    expect(positions.answered(KEY, { position: at(1), reason: 'nope' as never }, at(0))).toEqual({
      recovered: false,
      reason: 'unavailable',
    });
  });

  it('keeps subscriptions apart and hands out copies', () => {
    const positions = new StreamPositions();
    positions.received(KEY, at(1), false);
    positions.received('user.orders', at(50, 'u'), false);
    const copy = positions.get(KEY)!;
    copy.offset = 99;
    expect(positions.received(KEY, at(2), false)).toEqual({ kind: 'next' });
    expect(positions.received('user.orders', at(51, 'u'), false)).toEqual({ kind: 'next' });
    positions.forget(KEY);
    expect(positions.get(KEY)).toBeUndefined();
  });
});

describe('StreamPositions on conflated feeds', () => {
  it('tells no gap for a jump once the answer said conflated, and keeps the last position for since', () => {
    const positions = new StreamPositions();
    positions.answered(KEY, { position: at(5), conflated: true });
    expect(positions.isConflated(KEY)).toBe(true);
    expect(positions.received(KEY, at(6), false)).toEqual({ kind: 'next' });
    expect(positions.received(KEY, at(19), false)).toEqual({ kind: 'skip' });
    expect(positions.received(KEY, at(400), false)).toEqual({ kind: 'skip' });
    // The same feed asked again is answered without a position: still conflated.
    positions.answered(KEY, {});
    expect(positions.received(KEY, at(420), false)).toEqual({ kind: 'skip' });
    expect(positions.since(KEY)).toEqual(at(420));
    // A new epoch is still a reset, conflated or not.
    expect(positions.received(KEY, at(3, 'e2'), false)).toEqual({
      kind: 'reset',
      previous: at(420),
      position: at(3, 'e2'),
    });
  });

  it('checks offsets again after a switch back to a feed that is not conflated', () => {
    const positions = new StreamPositions();
    positions.answered(KEY, { position: at(5), conflated: true });
    positions.received(KEY, at(9), false);
    positions.answered(KEY, { position: at(12) });
    expect(positions.isConflated(KEY)).toBe(false);
    expect(positions.received(KEY, at(13), false)).toEqual({ kind: 'next' });
    expect(positions.received(KEY, at(15), false)).toEqual({
      kind: 'gap',
      gap: { key: KEY, epoch: 'e1', expected: 14, received: 15 },
    });
  });

  it('takes conflated from a resubscribe answer too, and forgets it with the position', () => {
    const positions = new StreamPositions();
    positions.received(KEY, at(10), false);
    positions.answered(
      KEY,
      { position: at(30), recovered: false, reason: 'history_off', conflated: true },
      at(10),
    );
    expect(positions.received(KEY, at(44), false)).toEqual({ kind: 'skip' });
    positions.forget(KEY);
    expect(positions.isConflated(KEY)).toBe(false);
    positions.received(KEY, at(50), false);
    expect(positions.received(KEY, at(52), false)).toMatchObject({ kind: 'gap' });
  });
});

describe('StreamPositions.since', () => {
  it('is the last position when the gateway takes it as since, else none', () => {
    const positions = new StreamPositions();
    expect(positions.since(KEY)).toBeUndefined();
    positions.received(KEY, at(4, 'x'.repeat(64)), false);
    expect(positions.since(KEY)).toEqual(at(4, 'x'.repeat(64)));
    positions.received(KEY, at(5, 'x'.repeat(65)), true);
    expect(positions.since(KEY)).toBeUndefined();
    positions.received(KEY, at(6, ''), true);
    expect(positions.since(KEY)).toBeUndefined();
    expect(positions.get(KEY)).toEqual(at(6, ''));
  });
});

describe('positionOf', () => {
  it('reads an envelope or answer position and refuses what is not one', () => {
    expect(positionOf({ offset: 0, epoch: 'x', other: 1 })).toEqual({ offset: 0, epoch: 'x' });
    for (const bad of [
      undefined,
      null,
      'x',
      { offset: -1, epoch: 'x' },
      { offset: 1.5, epoch: 'x' },
      { offset: 2 ** 53, epoch: 'x' },
      { offset: '1', epoch: 'x' },
      { offset: 1 },
      { seq: 1 },
    ])
      expect(positionOf(bad)).toBeUndefined();
  });
});
