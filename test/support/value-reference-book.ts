import { crc32 as zlibCrc32 } from 'node:zlib';
import type { Level } from './reference-book.js';

/**
 * A decimal string in one form: no leading zeros before the point, no trailing zeros after
 * it, no point without a fraction (`065000.50` → `65000.5`, `65001.00` → `65001`). Written
 * with string operations only, so it shares nothing with the gateway's `Number` keys.
 */
export function canonicalDecimal(decimal: string): string {
  const [whole = '', fraction = ''] = decimal.split('.');
  const integer = whole.replace(/^0+(?=\d)/, '');
  const decimals = fraction.replace(/0+$/, '');
  return decimals ? `${integer}.${decimals}` : integer;
}

/** Ways an exchange might write the same price: the canonical form and padded ones. */
export function spellingsOf(decimal: string): string[] {
  const canonical = canonicalDecimal(decimal);
  const padded = canonical.includes('.') ? canonical : `${canonical}.`;
  return [canonical, `${padded}0`, `${padded}00`, `0${canonical}`, `00${padded}000`];
}

/**
 * The book the exchange means, per docs/PROTOCOL.md: one level per price value whatever its
 * spelling, a zero quantity removes it, and a level keeps the spelling it was added with
 * until it is removed; the checksum joins the kept spellings of the top 25 levels.
 */
export class ValueReferenceBook {
  bids = new Map<string, Level>();
  asks = new Map<string, Level>();

  reset(bids: readonly Level[], asks: readonly Level[]): void {
    this.bids.clear();
    this.asks.clear();
    this.apply('bids', bids);
    this.apply('asks', asks);
  }

  apply(side: 'bids' | 'asks', levels: readonly Level[]): void {
    for (const [price, quantity] of levels) {
      const key = canonicalDecimal(price);
      const kept = this[side].get(key);
      if (canonicalDecimal(quantity) === '0') this[side].delete(key);
      else this[side].set(key, [kept ? kept[0] : price, quantity]);
    }
  }

  sorted(side: 'bids' | 'asks'): Level[] {
    const direction = side === 'bids' ? -1 : 1;
    return [...this[side].values()]
      .map((level) => ({ value: Number(level[0]), level }))
      .sort((a, b) => direction * (a.value - b.value))
      .map(({ level }) => [...level] as Level);
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
