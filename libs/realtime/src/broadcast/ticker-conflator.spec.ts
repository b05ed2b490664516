import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { TickerConflator } from './ticker-conflator.js';

describe('TickerConflator', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('sends the first value at once and the latest at the end of each window', () => {
    const sent: number[] = [];
    const conflator = new TickerConflator<number>(100, (value) => sent.push(value));
    const direct: number[] = [];
    for (let i = 1; i <= 50; i++) if (conflator.offer('BTC', i)) direct.push(i);
    expect(direct).toEqual([1]);
    jest.advanceTimersByTime(100);
    expect(sent).toEqual([50]);
    expect(conflator.offer('BTC', 51)).toBe(false);
    jest.advanceTimersByTime(100);
    expect(sent).toEqual([50, 51]);
    jest.advanceTimersByTime(100);
    expect(conflator.activeKeys).toBe(0);
    expect(conflator.offer('BTC', 52)).toBe(true);
  });

  it('conflates each key on its own', () => {
    const sent: string[] = [];
    const conflator = new TickerConflator<string>(50, (value) => sent.push(value));
    expect(conflator.offer('A', 'a1')).toBe(true);
    expect(conflator.offer('B', 'b1')).toBe(true);
    conflator.offer('A', 'a2');
    jest.advanceTimersByTime(50);
    expect(sent).toEqual(['a2']);
    conflator.dispose();
    expect(conflator.activeKeys).toBe(0);
  });
});
