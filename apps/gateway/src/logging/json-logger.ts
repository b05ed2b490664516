import type { LoggerService, LogLevel } from '@nestjs/common';

/** `LOG_LEVEL` values, most to least severe. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'verbose'] as const;
export type GatewayLogLevel = (typeof LOG_LEVELS)[number];

const NEST_LEVEL: Record<string, GatewayLogLevel> = {
  fatal: 'error',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'verbose',
};

/**
 * One JSON object per line: `{ time, level, context, msg }` (plus `stack` on errors), for log
 * shippers. Lines below `LOG_LEVEL` are not written.
 */
export class JsonLogger implements LoggerService {
  private readonly threshold: number;

  constructor(level: GatewayLogLevel = 'info') {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(nestLevel: LogLevel, message: unknown, rest: unknown[]): void {
    const level = NEST_LEVEL[nestLevel]!;
    if (LOG_LEVELS.indexOf(level) > this.threshold) return;
    // Nest passes the context last, and for errors a stack before it.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack =
      rest.length > 1 && typeof rest[0] === 'string'
        ? rest[0]
        : message instanceof Error
          ? message.stack
          : undefined;
    const line: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      ...(context ? { context } : {}),
      msg:
        message instanceof Error
          ? message.message
          : typeof message === 'string'
            ? message
            : JSON.stringify(message),
      ...(stack ? { stack } : {}),
    };
    (level === 'error' ? process.stderr : process.stdout).write(JSON.stringify(line) + '\n');
  }
}
