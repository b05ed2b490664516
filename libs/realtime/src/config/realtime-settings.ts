import { resolveAuth, type ResolvedAuth } from '../auth/resolved-auth.js';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import type { ValidationContext } from '../events/payload-schema.js';
import { hostname } from 'node:os';
import { SymbolRule } from '../market/symbol-rule.js';
import type { RealtimeModuleOptions } from '../realtime.module-definition.js';

/** The module's options with defaults applied and checked once, at start-up. */
export class RealtimeSettings implements ValidationContext {
  readonly namespace: string;
  readonly corsOrigins: readonly string[] | '*';
  readonly symbols: SymbolRule;
  /** Token verification; null when no key is configured. */
  readonly auth: ResolvedAuth | null;
  readonly orderBookDepth: number;
  readonly recentTrades: number;
  readonly tickerConflationMs: number;
  readonly allTickersIntervalMs: number;
  readonly instanceId: string;

  constructor(options: RealtimeModuleOptions = {}) {
    this.namespace = options.namespace ?? '/ws';
    if (!/^\/[A-Za-z0-9/_.-]*$/.test(this.namespace)) {
      throw new RealtimeOptionsError('namespace', `must start with "/", got "${this.namespace}"`);
    }
    const origins = options.corsOrigins ?? '*';
    if (origins !== '*') {
      for (const origin of origins) {
        if (!URL.canParse(origin) || origin !== new URL(origin).origin) {
          throw new RealtimeOptionsError(
            'corsOrigins',
            `entry "${origin}" must be scheme://host[:port]`,
          );
        }
      }
    }
    this.corsOrigins = origins === '*' || origins.includes('*') ? '*' : [...origins];
    this.symbols = new SymbolRule(options.symbolPattern, options.symbols);
    this.auth = resolveAuth(options.auth);
    this.orderBookDepth = integerOption('orderBookDepth', options.orderBookDepth, 1000, 1, 100_000);
    this.recentTrades = integerOption('recentTrades', options.recentTrades, 20, 0, 1000);
    this.tickerConflationMs = integerOption(
      'tickerConflationMs',
      options.tickerConflationMs,
      0,
      0,
      60_000,
    );
    this.instanceId = options.instanceId ?? `${hostname()}-${process.pid}`;
    this.allTickersIntervalMs = integerOption(
      'allTickersIntervalMs',
      options.allTickersIntervalMs,
      1000,
      50,
      60_000,
    );
  }
}

function integerOption(
  option: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RealtimeOptionsError(
      option,
      `must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}
