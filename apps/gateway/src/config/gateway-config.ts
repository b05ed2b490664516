import { SymbolRule } from '#realtime';

/** The standalone gateway's configuration, read from environment variables. */
export interface GatewayConfig {
  /** `PORT`: TCP port for HTTP and WebSocket. Default 3000. */
  port: number;
  /** `HOST`: address to listen on. Default: every interface. */
  host?: string;
  /** `CORS_ORIGINS`: comma-separated browser origins allowed to connect, or `*`. Default `*`. */
  corsOrigins: string[] | '*';
  /** `SYMBOLS`: comma-separated allowlist of symbols. Default: any symbol of a valid format. */
  symbols?: string[];
}

/** A configuration mistake; its message is the one line the operator sees. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return {
    port: port(env.PORT),
    host: nonEmpty(env.HOST),
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
    symbols: symbols(env.SYMBOLS),
  };
}

function symbols(value: string | undefined): string[] | undefined {
  const allowlist = list(value);
  const rule = new SymbolRule();
  for (const symbol of allowlist ?? []) {
    const problem = rule.problem(symbol);
    if (problem) throw new ConfigError('SYMBOLS', `entries ${problem}, got "${symbol}"`);
  }
  return allowlist;
}

function port(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed < 0 || parsed > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535, got "${value}"`);
  }
  return parsed;
}

function corsOrigins(value: string | undefined): string[] | '*' {
  const origins = list(value);
  if (!origins || origins.includes('*')) return '*';
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `entries must be origins like https://app.example.com, got "${origin}"`,
      );
    }
  }
  return origins;
}

function list(value: string | undefined): string[] | undefined {
  const items = value
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items && items.length > 0 ? items : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value?.trim() ? value.trim() : undefined;
}
