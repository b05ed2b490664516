import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import { ALL_SYMBOLS } from '../events/channels.js';

/** Upper-case letters and digits, optionally split by `.` `_` `/` `-`; at most 32 characters. */
export const DEFAULT_SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9._/-]{0,31}$/;

/** A character outside ASCII. */
const NOT_ASCII = /[\u0080-\uffff]/;

/**
 * Which symbols exist: a format, and optionally an allowlist. Upstream events must carry
 * symbols in canonical form; symbols sent by clients are upper-cased first.
 */
export class SymbolRule {
  private readonly pattern: RegExp;
  private readonly allowed: ReadonlySet<string> | undefined;

  constructor(pattern: RegExp = DEFAULT_SYMBOL_PATTERN, allowlist?: readonly string[]) {
    // A global or sticky pattern keeps state between test() calls: drop those flags.
    this.pattern = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    this.allowed = allowlist && allowlist.length > 0 ? new Set(allowlist) : undefined;
    for (const symbol of allowlist ?? []) {
      const problem = this.formatProblem(symbol);
      if (problem) throw new RealtimeOptionsError('symbols', `entry "${symbol}" ${problem}`);
    }
  }

  /** Why `symbol` is not an accepted canonical symbol, or null when it is. */
  problem(symbol: unknown): string | null {
    if (typeof symbol !== 'string') return 'must be a string';
    const formatProblem = this.formatProblem(symbol);
    if (formatProblem) return formatProblem;
    if (this.allowed && !this.allowed.has(symbol)) return 'is not a listed symbol';
    return null;
  }

  /**
   * Why a symbol a client sent cannot be read, before it is upper-cased; null when it can.
   * Symbols are ASCII: Unicode case mapping would turn `ethusdß` into `ETHUSDSS` and
   * `ıethusdt` into `IETHUSDT`, symbols the client never named.
   */
  sentProblem(symbol: string): string | null {
    return NOT_ASCII.test(symbol) ? 'must be ASCII' : null;
  }

  /** The canonical form of a symbol a client sent; only ASCII letters change case. */
  normalize(symbol: string): string {
    return NOT_ASCII.test(symbol) ? symbol : symbol.toUpperCase();
  }

  private formatProblem(symbol: string): string | null {
    // Room names' separators and the ticker-wide pseudo symbol can never be symbols.
    if (
      symbol.includes(':') ||
      symbol.includes('|') ||
      symbol.toLowerCase() === ALL_SYMBOLS ||
      !this.pattern.test(symbol)
    ) {
      return `must match ${this.pattern}`;
    }
    return null;
  }
}
