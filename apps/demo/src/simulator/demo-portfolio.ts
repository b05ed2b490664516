import type { DemoPayloads } from './demo-events.js';

type Portfolio = DemoPayloads['portfolio.update'];
type Position = Portfolio['positions'][number];

export interface Holding {
  /** Signed, in thousandths of a unit (demo quantities have three decimals): sums stay exact. */
  milli: number;
  entryPrice: number;
}

/** A decimal string with `digits` decimals; never "-0.00". */
function fixed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text;
}

/**
 * One demo user's cash and positions, changed by fills: a buy adds to the position and
 * spends its notional, a sell the other way round (a position may go short). Pure state;
 * the user activity simulator publishes what it says.
 */
export class DemoPortfolio {
  private readonly holdings = new Map<string, Holding>();

  constructor(private cashUsdt: number) {}

  get cash(): number {
    return this.cashUsdt;
  }

  /** Applies a fill; returns the position in `symbol` after it (size 0 once closed). */
  fill(symbol: string, side: 'buy' | 'sell', price: number, quantity: string): Holding {
    const delta = Math.round(Number(quantity) * 1000) * (side === 'buy' ? 1 : -1);
    this.cashUsdt -= (delta / 1000) * price;
    const held = this.holdings.get(symbol) ?? { milli: 0, entryPrice: 0 };
    const milli = held.milli + delta;
    let entryPrice: number;
    if (held.milli === 0 || Math.sign(held.milli) === Math.sign(delta)) {
      // Adding to the position: the entry is the average price of all of it.
      entryPrice =
        (Math.abs(held.milli) * held.entryPrice + Math.abs(delta) * price) /
        Math.abs(held.milli + delta);
    } else if (milli === 0 || Math.sign(milli) === Math.sign(held.milli)) {
      entryPrice = milli === 0 ? 0 : held.entryPrice;
    } else {
      // Through zero: what is left was opened at this fill's price.
      entryPrice = price;
    }
    const after = { milli, entryPrice };
    if (milli === 0) this.holdings.delete(symbol);
    else this.holdings.set(symbol, after);
    return after;
  }

  /** The `portfolio.update` payload: every open position marked to `markPrice(symbol)`. */
  snapshot(userId: string, markPrice: (symbol: string) => number, now: number): Portfolio {
    const positions: Position[] = [];
    let marked = 0;
    let unrealized = 0;
    for (const [symbol, { milli, entryPrice }] of this.holdings) {
      const mark = markPrice(symbol);
      const size = milli / 1000;
      marked += size * mark;
      unrealized += size * (mark - entryPrice);
      positions.push(position(symbol, { milli, entryPrice }, mark));
    }
    return {
      userId,
      cash: fixed(this.cashUsdt, 2),
      equity: fixed(this.cashUsdt + marked, 2),
      unrealizedPnl: fixed(unrealized, 2),
      positions,
      timestamp: now,
    };
  }
}

/** A position as the events carry it: decimal strings. */
export function position(symbol: string, { milli, entryPrice }: Holding, mark: number): Position {
  const size = milli / 1000;
  return {
    symbol,
    size: fixed(size, 3),
    entryPrice: fixed(entryPrice, 2),
    markPrice: fixed(mark, 2),
    unrealizedPnl: fixed(size * (mark - entryPrice), 2),
  };
}
