import { describe, expect, it } from '@jest/globals';
import { answerQuestion, marketNamed, type MarketFacts } from './market-assistant.js';

const MARKETS: MarketFacts[] = [
  {
    symbol: 'BTCUSDT',
    lastPrice: '65000.5',
    priceChangePercent: '1.25',
    bidPrice: '65000.0',
    askPrice: '65001.5',
  },
  {
    symbol: 'ETHUSDT',
    lastPrice: '3500.10',
    priceChangePercent: '-0.40',
    bidPrice: '3500.05',
    askPrice: '3500.15',
  },
];
const SYMBOLS = MARKETS.map((m) => m.symbol);

describe('market assistant', () => {
  it('finds the market a question names by symbol, base asset or name', () => {
    expect(marketNamed('How is btcusdt?', SYMBOLS)).toBe('BTCUSDT');
    expect(marketNamed("what's ETH doing", SYMBOLS)).toBe('ETHUSDT');
    expect(marketNamed('Bitcoin price please', SYMBOLS)).toBe('BTCUSDT');
    expect(marketNamed('and the weather?', SYMBOLS)).toBeUndefined();
    expect(marketNamed('methane', SYMBOLS)).toBeUndefined();
  });

  it('answers price, change and spread of the market named', () => {
    const answer = answerQuestion('Tell me about BTC', MARKETS);
    expect(answer).toEqual({
      answer:
        'BTCUSDT last traded at 65000.5. It is up 1.25% over 24h. The spread is 1.5 (bid 65000.0, ask 65001.5).',
      symbol: 'BTCUSDT',
      lastPrice: '65000.5',
      changePercent: '1.25',
      spread: '1.5',
    });
  });

  it('answers only what was asked when the question says', () => {
    expect(answerQuestion('spread of ETHUSDT?', MARKETS).answer).toBe(
      'The spread is 0.10 (bid 3500.05, ask 3500.15).',
    );
    expect(answerQuestion('ether 24h change', MARKETS).answer).toBe('It is down 0.40% over 24h.');
    expect(answerQuestion('ETH price', MARKETS).answer).toBe('ETHUSDT last traded at 3500.10.');
  });

  it('lists the markets when the question names none', () => {
    const answer = answerQuestion('hello', MARKETS);
    expect(answer.symbol).toBeUndefined();
    expect(answer.answer).toContain('BTCUSDT 65000.5, ETHUSDT 3500.10');
  });
});
