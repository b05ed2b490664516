import { crc32 as zlibCrc32 } from 'node:zlib';

export type Level = [price: string, quantity: string];

/** A deterministic generator, so a failure can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The obvious order book, written independently of the gateway's: a map per side, sorted when asked. */
export class ReferenceBook {
  bids = new Map<string, string>();
  asks = new Map<string, string>();

  apply(side: 'bids' | 'asks', levels: readonly Level[]): void {
    for (const [price, quantity] of levels) {
      if (Number(quantity) === 0) this[side].delete(price);
      else this[side].set(price, quantity);
    }
  }

  sorted(side: 'bids' | 'asks'): Level[] {
    const direction = side === 'bids' ? -1 : 1;
    // Each price parsed once, not once per comparison: this runs after every update in the tests.
    const keyed = [...this[side]].map(([price, quantity]) => ({
      value: Number(price),
      level: [price, quantity] as Level,
    }));
    keyed.sort((a, b) => direction * (a.value - b.value));
    return keyed.map(({ level }) => level);
  }

  checksum(): number {
    const bids = this.sorted('bids');
    const asks = this.sorted('asks');
    const parts: string[] = [];
    for (let i = 0; i < 25; i++) {
      if (bids[i]) parts.push(...bids[i]!);
      if (asks[i]) parts.push(...asks[i]!);
    }
    return zlibCrc32(parts.join(':')) >>> 0;
  }
}

/** `count` random levels with prices between `low` and `high` (two decimals); some remove their level. */
export function randomLevels(
  random: () => number,
  count: number,
  low: number,
  high: number,
): Level[] {
  return Array.from({ length: count }, () => {
    const price = (low + Math.floor(random() * (high - low) * 100) / 100).toFixed(2);
    const quantity =
      random() < 0.3 ? (random() < 0.5 ? '0' : '0.000') : (random() * 10 + 0.001).toFixed(3);
    return [price, quantity] as Level;
  });
}
