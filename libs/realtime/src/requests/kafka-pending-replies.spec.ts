import { describe, expect, it } from '@jest/globals';
import { KafkaPendingReplies } from './kafka-pending-replies.js';
import { BackendUnavailable } from './request-transport.js';

describe('KafkaPendingReplies', () => {
  it('settles a request with its reply once; a second reply finds nothing', async () => {
    const pending = new KafkaPendingReplies(10);
    const reply = pending.wait('a', new AbortController().signal);
    expect(pending.has('a')).toBe(true);
    expect(pending.settle('a', { ok: true, result: 1 })).toBe(true);
    await expect(reply.promise).resolves.toEqual({ ok: true, result: 1 });
    expect(pending.settle('a', { ok: true, result: 2 })).toBe(false);
    expect(pending.size).toBe(0);
  });

  it('an abort before Kafka took the record is BackendUnavailable, after it the reason', async () => {
    const pending = new KafkaPendingReplies(10);
    const early = new AbortController();
    const unsent = pending.wait('a', early.signal);
    early.abort(new Error('deadline'));
    await expect(unsent.promise).rejects.toBeInstanceOf(BackendUnavailable);

    const late = new AbortController();
    const sent = pending.wait('b', late.signal);
    sent.sent();
    late.abort(new Error('deadline'));
    await expect(sent.promise).rejects.toThrow('deadline');
    // The late replies are dropped: nothing waits for them any more.
    expect(pending.settle('a', { ok: true, result: 1 })).toBe(false);
    expect(pending.settle('b', { ok: true, result: 1 })).toBe(false);
    expect(pending.size).toBe(0);
  });

  it('refuses an aborted signal and a request past the limit, at once', async () => {
    const pending = new KafkaPendingReplies(1);
    expect(() => pending.wait('a', AbortSignal.abort())).toThrow(BackendUnavailable);
    const first = pending.wait('b', new AbortController().signal);
    expect(() => pending.wait('c', new AbortController().signal)).toThrow(
      '1 requests are already waiting',
    );
    pending.fail('b', new BackendUnavailable('gone'));
    await expect(first.promise).rejects.toThrow('gone');
    pending.wait('c', new AbortController().signal).promise.catch(() => undefined);
    expect(pending.size).toBe(1);
  });

  it('fails every request at shutdown', async () => {
    const pending = new KafkaPendingReplies(10);
    const replies = ['a', 'b'].map((id) => pending.wait(id, new AbortController().signal));
    pending.failAll(new BackendUnavailable('shutting down'));
    for (const reply of replies) await expect(reply.promise).rejects.toThrow('shutting down');
    expect(pending.size).toBe(0);
  });
});
