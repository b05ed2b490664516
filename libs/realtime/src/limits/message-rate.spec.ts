import { describe, expect, it } from '@jest/globals';
import { newMessageBudget, spendMessage } from './message-rate.js';

describe('message token bucket', () => {
  it('allows a burst, then the rate, and asks to disconnect a connection that keeps going', () => {
    const budget = newMessageBudget(5, 0);
    const at = (now: number) => spendMessage(budget, 2, 5, 3, now);
    expect([at(0), at(0), at(0), at(0), at(0)]).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(at(0)).toBe('refused');
    expect(at(500)).toBe('ok');
    expect(at(500)).toBe('refused');
    expect(at(500)).toBe('refused');
    expect(at(500)).toBe('disconnect');
  });

  it('forgets refusals after the window', () => {
    const budget = newMessageBudget(1, 0);
    spendMessage(budget, 1, 1, 2, 0);
    expect(spendMessage(budget, 1, 1, 2, 0)).toBe('refused');
    expect(spendMessage(budget, 1, 1, 2, 0)).toBe('refused');
    expect(spendMessage(budget, 0, 1, 2, 20_000)).toBe('refused');
  });
});
