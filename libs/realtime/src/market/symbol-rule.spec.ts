import { describe, expect, it } from '@jest/globals';
import { SymbolRule } from './symbol-rule.js';

describe('SymbolRule', () => {
  it('accepts canonical symbols of the default format', () => {
    const rule = new SymbolRule();
    for (const symbol of ['BTCUSDT', 'BTC-USD', 'BTC_USDT', 'BTC/USDT', 'ETH.PERP', 'A']) {
      expect(rule.problem(symbol)).toBeNull();
    }
  });

  it('refuses other formats, the room separator and the pseudo symbol "all"', () => {
    const rule = new SymbolRule();
    for (const symbol of [
      '',
      'btcusdt',
      'BTC USDT',
      'BTC:USDT',
      '-BTC',
      'X'.repeat(33),
      'ALL',
      7,
      null,
    ]) {
      expect(rule.problem(symbol)).toEqual(expect.any(String));
    }
  });

  it("refuses the room separators ':' and '|' even when a custom pattern would allow them", () => {
    const rule = new SymbolRule(/^[A-Z:|]+$/);
    expect(rule.problem('BTCUSDT')).toBeNull();
    expect(rule.problem('BTC:USDT')).toEqual(expect.any(String));
    expect(rule.problem('BTC|BATCHED')).toEqual(expect.any(String));
  });

  it('limits symbols to the allowlist when one is given', () => {
    const rule = new SymbolRule(undefined, ['BTCUSDT']);
    expect(rule.problem('BTCUSDT')).toBeNull();
    expect(rule.problem('ETHUSDT')).toBe('is not a listed symbol');
  });

  it('refuses an allowlist entry of the wrong format at start-up', () => {
    expect(() => new SymbolRule(undefined, ['btc'])).toThrow('symbols entry "btc" must match');
  });

  it('is not fooled by a global pattern keeping state between checks', () => {
    const rule = new SymbolRule(/^[A-Z]+$/g);
    expect([rule.problem('ABC'), rule.problem('ABC'), rule.problem('ABC')]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('upper-cases what clients send', () => {
    expect(new SymbolRule().normalize('btcusdt')).toBe('BTCUSDT');
  });

  it('refuses a sent symbol outside ASCII before case mapping, and never maps it', () => {
    const rule = new SymbolRule();
    for (const sent of ['ethusdß', 'ıethusdt', 'BTCUSDT\u00a0', '😀']) {
      expect(rule.sentProblem(sent)).toBe('must be ASCII');
      expect(rule.normalize(sent)).toBe(sent);
    }
    expect(rule.sentProblem('btc-usdt')).toBeNull();
  });
});
