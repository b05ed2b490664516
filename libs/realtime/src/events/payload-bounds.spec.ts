import { describe, expect, it } from '@jest/globals';
import { checkPayloadBounds } from './payload-bounds.js';

const bounds = { maxDepth: 32, maxBytes: 4096 };

/** `{ symbol, extra: { a: { a: ... } } }` with `levels` objects in all, `data` included. */
function nested(levels: number): Record<string, unknown> {
  const data: Record<string, unknown> = { symbol: 'BTCUSDT' };
  let inner = data;
  for (let level = 2; level <= levels; level++) {
    const next: Record<string, unknown> = {};
    inner.a = next;
    inner = next;
  }
  return data;
}

describe('checkPayloadBounds', () => {
  it('passes what fits, up to exactly the deepest level allowed', () => {
    expect(checkPayloadBounds(nested(32), bounds)).toBeNull();
    expect(
      checkPayloadBounds({ symbol: 'BTCUSDT', price: '1', n: 1, ok: true }, bounds),
    ).toBeNull();
    expect(
      checkPayloadBounds(
        {
          list: [
            [1, 2],
            [3, [4, null]],
          ],
        },
        bounds,
      ),
    ).toBeNull();
  });

  it('refuses one level deeper, naming the bound', () => {
    expect(checkPayloadBounds(nested(33), bounds)).toEqual({
      code: 'INVALID_PAYLOAD',
      field: 'data',
      message: 'data nests objects and arrays deeper than 32 levels',
    });
  });

  it('walks 100,000 levels without recursion (the shape that overflowed the stack)', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(checkPayloadBounds({ symbol: 'X', extra: deep }, bounds)?.message).toMatch(/deeper/);
  });

  it('refuses what is larger than the byte bound, wide or long', () => {
    expect(checkPayloadBounds({ text: 'x'.repeat(5000) }, bounds)?.message).toBe(
      'data is larger than 4096 bytes as JSON',
    );
    expect(checkPayloadBounds({ list: new Array(10_000).fill(0) }, bounds)?.message).toMatch(
      /larger than 4096/,
    );
    const wide: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) wide['k' + i] = i;
    expect(checkPayloadBounds(wide, bounds)?.message).toMatch(/larger than 4096/);
  });

  it('refuses a cycle and values JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = { symbol: 'X' };
    cyclic.self = cyclic;
    expect(checkPayloadBounds(cyclic, bounds)?.message).toMatch(/deeper than 32/);
    expect(checkPayloadBounds({ quantity: 10n }, bounds)?.message).toBe(
      'data holds a bigint, which JSON cannot carry',
    );
    expect(checkPayloadBounds({ callback: () => 1 }, bounds)?.message).toMatch(/function/);
  });

  it('is ready for the next payload after a refusal', () => {
    expect(checkPayloadBounds(nested(40), bounds)).not.toBeNull();
    expect(checkPayloadBounds(nested(3), bounds)).toBeNull();
  });
});
