import { Inject, Injectable } from '@nestjs/common';
import type { RealtimeRequestHandler, RelayedRequest } from '#realtime';
import { MarketSimulator } from '../simulator/market-simulator.service.js';

/** One market as the assistant reads it. */
export interface MarketFacts {
  symbol: string;
  lastPrice: string;
  /** 24h change in percent, e.g. "-1.25". */
  priceChangePercent: string;
  bidPrice: string;
  askPrice: string;
}

/** What `assistant.ask` answers. */
export interface AssistantAnswer {
  /** One or two sentences about the market. */
  answer: string;
  /** The market the question named, if it named one. */
  symbol?: string;
  lastPrice?: string;
  changePercent?: string;
  spread?: string;
}

/** Words that name a demo market besides its symbol and its base asset. */
const NAMES: Record<string, readonly string[]> = {
  BTC: ['bitcoin'],
  ETH: ['ether', 'ethereum'],
  SOL: ['solana'],
};

/** The market a question names: its symbol (`btcusdt`), base asset (`BTC`) or a name (`bitcoin`). */
export function marketNamed(question: string, symbols: readonly string[]): string | undefined {
  const words = question.toLowerCase().split(/[^a-z0-9]+/);
  return symbols.find((symbol) => {
    const base = symbol.replace(/USDT$/, '');
    const names = [symbol.toLowerCase(), base.toLowerCase(), ...(NAMES[base] ?? [])];
    return words.some((word) => names.includes(word));
  });
}

/**
 * A rule-based answer about the current market: the last price, the 24h change and the
 * spread of the market the question names (all three unless it asks for one), or which
 * markets there are when it names none.
 */
export function answerQuestion(question: string, markets: readonly MarketFacts[]): AssistantAnswer {
  const symbol = marketNamed(
    question,
    markets.map((m) => m.symbol),
  );
  const facts = markets.find((m) => m.symbol === symbol);
  if (!facts) {
    const list = markets.map((m) => `${m.symbol} ${m.lastPrice}`).join(', ');
    return {
      answer: `Ask me about one market: its price, 24h change or spread. Now: ${list}.`,
    };
  }
  const decimals = facts.lastPrice.split('.')[1]?.length ?? 0;
  const spread = (Number(facts.askPrice) - Number(facts.bidPrice)).toFixed(decimals);
  const change = Number(facts.priceChangePercent);
  const asked = question.toLowerCase();
  const sentences = {
    price: `${facts.symbol} last traded at ${facts.lastPrice}.`,
    change: `It is ${change >= 0 ? 'up' : 'down'} ${Math.abs(change).toFixed(2)}% over 24h.`,
    spread: `The spread is ${spread} (bid ${facts.bidPrice}, ask ${facts.askPrice}).`,
  };
  const wanted = [
    /\b(spread|bid|ask)\b/.test(asked) ? sentences.spread : undefined,
    /\b(change|24h|up|down|mov\w*)\b/.test(asked) ? sentences.change : undefined,
    /\b(price|trad\w*|cost\w*|worth)\b/.test(asked) ? sentences.price : undefined,
  ].filter((s): s is string => s !== undefined);
  const answer = wanted.length
    ? wanted.join(' ')
    : `${sentences.price} ${sentences.change} ${sentences.spread}`;
  return {
    answer,
    symbol: facts.symbol,
    lastPrice: facts.lastPrice,
    changePercent: facts.priceChangePercent,
    spread,
  };
}

/** The `assistant.ask` request's backend: answers from the simulated market as it is now. */
@Injectable()
export class MarketAssistant implements RealtimeRequestHandler {
  constructor(@Inject(MarketSimulator) private readonly market: MarketSimulator) {}

  handle(request: RelayedRequest): AssistantAnswer {
    const now = Date.now();
    const markets = this.market.markets.map((market) => {
      const t = market.ticker(now);
      return {
        symbol: t.symbol,
        lastPrice: t.lastPrice!,
        priceChangePercent: t.priceChangePercent!,
        bidPrice: t.bidPrice!,
        askPrice: t.askPrice!,
      };
    });
    return answerQuestion(String(request.params.question), markets);
  }
}
