import {
  RealtimeOptionsError,
  RealtimeSettings,
  type JwtAlgorithm,
  type RealtimeModuleOptions,
} from '#realtime';

/** The standalone gateway's configuration, read from environment variables. */
export interface GatewayConfig {
  /** `PORT`: TCP port for HTTP and WebSocket. Default 3000. */
  port: number;
  /** `HOST`: address to listen on. Default: every interface. */
  host?: string;
  /** The module's options, from `CORS_ORIGINS`, `SYMBOLS` and the `JWT_*` variables. */
  realtime: RealtimeModuleOptions;
}

/** A configuration mistake; its message is the one line the operator sees. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The environment variable behind each module option the gateway sets. */
const VARIABLE_OF_OPTION: Record<string, string> = {
  corsOrigins: 'CORS_ORIGINS',
  symbols: 'SYMBOLS',
  'auth.secret': 'JWT_SECRET',
  'auth.publicKey': 'JWT_PUBLIC_KEY',
  'auth.algorithms': 'JWT_ALGORITHMS',
  'auth.clockSkewSeconds': 'JWT_CLOCK_SKEW_SECONDS',
};

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const realtime: RealtimeModuleOptions = {
    corsOrigins: list(env.CORS_ORIGINS) ?? '*',
    symbols: list(env.SYMBOLS),
    auth: {
      secret: nonEmpty(env.JWT_SECRET),
      // PEM keys are often passed on one line with literal \n.
      publicKey: nonEmpty(env.JWT_PUBLIC_KEY)?.replace(/\\n/g, '\n'),
      algorithms: list(env.JWT_ALGORITHMS) as JwtAlgorithm[] | undefined,
      issuer: nonEmpty(env.JWT_ISSUER),
      audience: list(env.JWT_AUDIENCE),
      clockSkewSeconds: number('JWT_CLOCK_SKEW_SECONDS', env.JWT_CLOCK_SKEW_SECONDS),
    },
  };
  try {
    new RealtimeSettings(realtime);
  } catch (error) {
    if (!(error instanceof RealtimeOptionsError)) throw error;
    throw new ConfigError(VARIABLE_OF_OPTION[error.option] ?? error.option, error.problem);
  }
  return { port: port(env.PORT), host: nonEmpty(env.HOST), realtime };
}

function port(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535, got "${value}"`);
  }
  return parsed;
}

function number(variable: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new ConfigError(variable, `must be a number, got "${value}"`);
  return parsed;
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
