import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryRequestAnswers, waitUntilPolled, type RequestOutcome } from './request-answers.js';

const answered: RequestOutcome = { answered: { ok: true, result: 1 } };
const failed: RequestOutcome = { failed: { code: 'UNAVAILABLE', message: 'down' } };

describe('MemoryRequestAnswers', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('lets the first claim relay and gives a duplicate in flight the first outcome', async () => {
    const answers = new MemoryRequestAnswers(60_000);
    expect(await answers.claim('k', Date.now() + 1000)).toEqual({ claimed: true });
    const duplicate = answers.claim('k', Date.now() + 1000);
    answers.settle('k', answered);
    expect(await duplicate).toEqual({ claimed: false, outcome: answered });
    expect(await answers.claim('k', Date.now() + 1000)).toEqual({
      claimed: false,
      outcome: answered,
    });
  });

  it('frees the key after a failure: the next claim relays again, a waiting duplicate gets the failure', async () => {
    const answers = new MemoryRequestAnswers(60_000);
    await answers.claim('k', Date.now() + 1000);
    const duplicate = answers.claim('k', Date.now() + 1000);
    answers.settle('k', failed);
    expect(await duplicate).toEqual({ claimed: false, outcome: failed });
    expect(await answers.claim('k', Date.now() + 1000)).toEqual({ claimed: true });
  });

  it('answers TIMEOUT to a duplicate whose own deadline passes first', async () => {
    const answers = new MemoryRequestAnswers(60_000);
    await answers.claim('k', Date.now() + 1000);
    const duplicate = await answers.claim('k', Date.now() + 20);
    expect(duplicate).toMatchObject({ claimed: false, outcome: { failed: { code: 'TIMEOUT' } } });
  });

  it('forgets answers after the window, and the oldest past its bound', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const answers = new MemoryRequestAnswers(1000, 2);
    for (const key of ['a', 'b']) {
      await answers.claim(key, Date.now() + 100);
      answers.settle(key, answered);
    }
    jest.setSystemTime(1_000_500);
    await answers.claim('c', Date.now() + 100);
    answers.settle('c', answered);
    expect(answers.size).toBe(2);
    expect(await answers.claim('a', Date.now() + 100)).toEqual({ claimed: true });
    jest.setSystemTime(1_002_000);
    expect(await answers.claim('c', Date.now() + 100)).toEqual({ claimed: true });
  });
});

describe('waitUntilPolled', () => {
  it('polls until an outcome, undefined (nothing held) or the deadline', async () => {
    const reads: Array<RequestOutcome | null | undefined> = [null, null, answered];
    expect(await waitUntilPolled(async () => reads.shift(), Date.now() + 1000, 1)).toBe(answered);
    expect(await waitUntilPolled(async () => undefined, Date.now() + 1000, 1)).toBeUndefined();
    expect(await waitUntilPolled(async () => null, Date.now() + 20, 5)).toMatchObject({
      failed: { code: 'TIMEOUT' },
    });
  });
});
