import { resolveAuth, type ResolvedAuth } from '../auth/resolved-auth.js';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import type { PayloadBounds } from '../events/payload-bounds.js';
import type { ValidationContext } from '../events/payload-schema.js';
import { DEFAULT_LIMITS, type ResolvedLimits } from '../limits/realtime-limits-options.js';
import { hostname } from 'node:os';
import { SymbolRule } from '../market/symbol-rule.js';
import type { RealtimeModuleOptions } from '../realtime.module-definition.js';
import { resolveRecovery, type ResolvedRecovery } from '../recovery/recovery-options.js';

/** The module's options with defaults applied and checked once, at start-up. */
export class RealtimeSettings implements ValidationContext {
  readonly namespace: string;
  /** Path of the plain-WebSocket JSON endpoint; null when none is served. */
  readonly jsonPath: string | null;
  readonly corsOrigins: readonly string[] | '*';
  readonly symbols: SymbolRule;
  /** Token verification; null when no key is configured. */
  readonly auth: ResolvedAuth | null;
  readonly orderBookDepth: number;
  readonly recentTrades: number;
  readonly tickerConflationMs: number;
  readonly allTickersIntervalMs: number;
  readonly instanceId: string;
  readonly limits: ResolvedLimits;
  readonly payloadBounds: PayloadBounds;
  readonly recovery: ResolvedRecovery;

  constructor(options: RealtimeModuleOptions = {}) {
    this.namespace = options.namespace ?? '/ws';
    if (!/^\/[A-Za-z0-9/_.-]*$/.test(this.namespace)) {
      throw new RealtimeOptionsError('namespace', `must start with "/", got "${this.namespace}"`);
    }
    this.jsonPath = resolveJsonPath(options.jsonPath);
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
    this.limits = resolveLimits(options.limits);
    this.payloadBounds = {
      maxDepth: this.limits.maxEventDepth,
      maxBytes: this.limits.maxEventBytes,
    };
    this.recovery = resolveRecovery(options.recovery);
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

const LIMIT_RANGES: {
  [K in keyof ResolvedLimits]: ResolvedLimits[K] extends boolean ? null : [number, number];
} = {
  messageRate: [1, 100_000],
  messageBurst: [1, 100_000],
  messageRefusalsBeforeDisconnect: [1, 1_000_000],
  maxConnections: [0, 10_000_000],
  maxConnectionsPerIp: [0, 10_000_000],
  maxConnectionsPerUser: [0, 10_000_000],
  newConnectionsPerIpPerMinute: [0, 10_000_000],
  maxSubscriptionsPerConnection: [1, 100_000],
  maxMessageBytes: [256, 64 * 1024 * 1024],
  slowConsumerMaxBytes: [1024, 1024 * 1024 * 1024],
  slowConsumerGraceMs: [0, 600_000],
  subscribeDeadlineMs: [0, 3_600_000],
  connectionSlotLifetimeMs: [1000, 3_600_000],
  trustProxy: null,
  maxEventDepth: [2, 1000],
  maxEventBytes: [1024, 64 * 1024 * 1024],
};

function resolveLimits(options: Partial<ResolvedLimits> = {}): ResolvedLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, range] of Object.entries(LIMIT_RANGES) as Array<
    [keyof ResolvedLimits, [number, number] | null]
  >) {
    const value = options[name];
    if (value === undefined) continue;
    if (range === null) {
      if (typeof value !== 'boolean')
        throw new RealtimeOptionsError(`limits.${name}`, 'must be true or false');
    } else {
      integerOption(`limits.${name}`, value as number, 0, range[0], range[1]);
    }
    (limits as Record<string, unknown>)[name] = value;
  }
  return limits;
}

function resolveJsonPath(path: string | false | undefined): string | null {
  if (path === false) return null;
  const resolved = path ?? '/ws/json';
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(resolved) || resolved.startsWith('/socket.io')) {
    throw new RealtimeOptionsError(
      'jsonPath',
      `must be a path starting with "/" outside /socket.io/, or false; got "${resolved}"`,
    );
  }
  return resolved;
}
