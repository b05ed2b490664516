import {
  RealtimeCatalogue,
  RealtimeOptionsError,
  RealtimeSettings,
  channelHistories,
  resolveDeadManSwitch,
  resolveRequests,
  type DeadManSwitchOptions,
  type RealtimeRequestsOptions,
  type RequestMethodDefinition,
  type ChannelHistory,
  type RealtimeRecoveryOptions,
  type JwtAlgorithm,
  type RealtimeModuleOptions,
  type RedisClusterOptions,
  type RealtimeLimitsOptions,
} from '#realtime/internal';
import {
  DEFAULT_KAFKA_GROUP_ID,
  DEFAULT_KAFKA_TOPICS,
  type KafkaIngressOptions,
} from '../kafka/kafka-ingress-options.js';
import type { PublishApiOptions } from '../publish/publish-api-options.js';
import type { AdminOptions } from '../admin/admin-options.js';
import { CatalogueFileError, loadCatalogueFile, type CatalogueFile } from './catalogue-file.js';
import { LOG_LEVELS, type GatewayLogLevel } from '../logging/json-logger.js';

/** The standalone gateway's configuration, read from environment variables. */
export interface GatewayConfig {
  /** `PORT`: TCP port for HTTP and WebSocket. Default 3000. */
  port: number;
  /** `HOST`: address to listen on. Default: every interface. */
  host?: string;
  /**
   * The module's options, from `CORS_ORIGINS`, `SYMBOLS`, `JSON_PATH`, `CATALOGUE_FILE`, the
   * `JWT_*`, `DEAD_MAN_SWITCH_*` and `REQUEST_*` variables and the limits.
   */
  realtime: RealtimeModuleOptions;
  /** Kafka ingress, when `KAFKA_BROKERS` is set. */
  kafka?: KafkaIngressOptions;
  /** HTTP publish API, when `PUBLISH_API_KEY` is set. */
  publish?: PublishApiOptions;
  /**
   * Redis adapter for many instances, when `REDIS_URL` is set (`REDIS_SHARDED`,
   * `REDIS_BUS_GROUPS`, `REDIS_BUS_SYMBOL_GROUPS`).
   */
  redis?: RedisClusterOptions;
  /** `DRAIN_TIMEOUT_MS`: how long a SIGTERM may take to close every connection. Default 10000. */
  drainTimeoutMs: number;
  /** `LOG_LEVEL`: error, warn, info, debug or verbose. Default info. */
  logLevel: GatewayLogLevel;
  /** Operator endpoints (`ADMIN_ROLE`, default `admin`). */
  admin: AdminOptions;
  /** `GET /metrics`; open unless `METRICS_TOKEN` is set. */
  metrics: MetricsOptions;
}

/** Who may scrape `GET /metrics`. */
export interface MetricsOptions {
  /** `METRICS_TOKEN`: when set, scrapes must send `Authorization: Bearer <token>` (16+ characters). */
  token?: string;
}

/** A configuration mistake; its message is the one line the operator sees. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The environment variable of each limit. */
const LIMIT_VARIABLES: Record<keyof RealtimeLimitsOptions, string> = {
  messageRate: 'MESSAGE_RATE_LIMIT',
  messageBurst: 'MESSAGE_RATE_BURST',
  messageRefusalsBeforeDisconnect: 'MESSAGE_REFUSALS_BEFORE_DISCONNECT',
  maxConnections: 'MAX_CONNECTIONS',
  maxConnectionsPerIp: 'MAX_CONNECTIONS_PER_IP',
  maxConnectionsPerUser: 'MAX_CONNECTIONS_PER_USER',
  newConnectionsPerIpPerMinute: 'NEW_CONNECTIONS_PER_IP_PER_MINUTE',
  maxSubscriptionsPerConnection: 'MAX_SUBSCRIPTIONS_PER_CONNECTION',
  maxMessageBytes: 'MAX_MESSAGE_BYTES',
  slowConsumerMaxBytes: 'SLOW_CONSUMER_MAX_BYTES',
  slowConsumerGraceMs: 'SLOW_CONSUMER_GRACE_MS',
  subscribeDeadlineMs: 'SUBSCRIBE_DEADLINE_MS',
  connectionSlotLifetimeMs: 'CONNECTION_SLOT_LIFETIME_MS',
  trustProxy: 'TRUST_PROXY',
  maxEventDepth: 'MAX_EVENT_DEPTH',
  maxEventBytes: 'MAX_EVENT_BYTES',
};

/** The environment variable behind each module option the gateway sets. */
const VARIABLE_OF_OPTION: Record<string, string> = {
  corsOrigins: 'CORS_ORIGINS',
  symbols: 'SYMBOLS',
  'auth.secret': 'JWT_SECRET',
  'auth.publicKey': 'JWT_PUBLIC_KEY',
  'auth.algorithms': 'JWT_ALGORITHMS',
  'auth.clockSkewSeconds': 'JWT_CLOCK_SKEW_SECONDS',
  orderBookDepth: 'ORDERBOOK_DEPTH',
  recentTrades: 'RECENT_TRADES',
  tickerConflationMs: 'TICKER_CONFLATION_MS',
  allTickersIntervalMs: 'ALL_TICKERS_INTERVAL_MS',
  'recovery.maxMemoryMessages': 'HISTORY_MEMORY_MESSAGES',
  'recovery.positionTtlMs': 'POSITION_TTL_MS',
  jsonPath: 'JSON_PATH',
  'deadManSwitch.url': 'DEAD_MAN_SWITCH_URL',
  'deadManSwitch.secret': 'DEAD_MAN_SWITCH_SECRET',
  'deadManSwitch.graceMs': 'DEAD_MAN_SWITCH_GRACE_MS',
  'deadManSwitch.retries': 'DEAD_MAN_SWITCH_RETRIES',
  'deadManSwitch.instanceTimeoutMs': 'DEAD_MAN_SWITCH_INSTANCE_TIMEOUT_MS',
  'requests.methods': 'CATALOGUE_FILE',
  'requests.httpSecret': 'REQUEST_HTTP_SECRET',
  'requests.kafka': 'REQUEST_REPLY_TOPIC',
  'requests.kafka.brokers': 'KAFKA_BROKERS',
  'requests.kafka.replyTopic': 'REQUEST_REPLY_TOPIC',
  'requests.idempotencyWindowMs': 'REQUEST_IDEMPOTENCY_WINDOW_MS',
  ...Object.fromEntries(
    Object.entries(LIMIT_VARIABLES).map(([option, variable]) => [`limits.${option}`, variable]),
  ),
};

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const file = catalogue(env);
  const ingress = kafka(env);
  const requested = requests(env, file, ingress);
  const deadMan = deadManSwitch(env);
  const realtime: RealtimeModuleOptions = {
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
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
    orderBookDepth: number('ORDERBOOK_DEPTH', env.ORDERBOOK_DEPTH),
    recentTrades: number('RECENT_TRADES', env.RECENT_TRADES),
    // A gateway for many clients conflates tickers by default; the module alone does not.
    tickerConflationMs: number('TICKER_CONFLATION_MS', env.TICKER_CONFLATION_MS) ?? 100,
    allTickersIntervalMs: number('ALL_TICKERS_INTERVAL_MS', env.ALL_TICKERS_INTERVAL_MS),
    instanceId: nonEmpty(env.INSTANCE_ID),
    limits: limits(env),
    recovery: recovery(env),
    events: file?.events,
    ...jsonPath(env.JSON_PATH),
    ...(deadMan && { deadManSwitch: deadMan }),
    ...(requested && { requests: requested }),
  };
  try {
    const settings = new RealtimeSettings(realtime);
    channelHistories(settings.recovery, new RealtimeCatalogue(realtime.events).channels());
    resolveDeadManSwitch(realtime.deadManSwitch);
    resolveRequests(realtime.requests);
  } catch (error) {
    if (!(error instanceof RealtimeOptionsError)) throw error;
    const variable = error.option.startsWith('recovery.history.')
      ? 'HISTORY'
      : error.option.startsWith('requests.methods')
        ? 'CATALOGUE_FILE'
        : (VARIABLE_OF_OPTION[error.option] ?? error.option);
    throw new ConfigError(variable, error.problem);
  }
  return {
    port: port(env.PORT),
    host: nonEmpty(env.HOST),
    realtime,
    kafka: ingress,
    publish: publish(env),
    redis: redis(env),
    drainTimeoutMs: integer('DRAIN_TIMEOUT_MS', env.DRAIN_TIMEOUT_MS, 0, 600_000) ?? 10_000,
    logLevel: logLevel(env.LOG_LEVEL),
    admin: { role: nonEmpty(env.ADMIN_ROLE) ?? 'admin' },
    metrics: metrics(env),
  };
}

function metrics(env: NodeJS.ProcessEnv): MetricsOptions {
  const token = nonEmpty(env.METRICS_TOKEN);
  if (token !== undefined && token.length < 16)
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  return { token };
}

function limits(env: NodeJS.ProcessEnv): RealtimeLimitsOptions {
  const options: Record<string, number | boolean> = {};
  for (const [option, variable] of Object.entries(LIMIT_VARIABLES)) {
    const value = nonEmpty(env[variable]);
    if (value === undefined) continue;
    if (option === 'trustProxy') {
      if (value !== 'true' && value !== 'false')
        throw new ConfigError(variable, `must be true or false, got "${value}"`);
      options[option] = value === 'true';
    } else {
      options[option] = number(variable, value)!;
    }
  }
  return options;
}

/** `CORS_ORIGINS`: unset, empty or `*` for any origin; otherwise comma-separated origins. */
function corsOrigins(value: string | undefined): readonly string[] | '*' {
  const origins = list(value);
  if (origins === undefined) return '*';
  if (!origins.includes('*')) return origins;
  if (origins.length > 1)
    throw new ConfigError('CORS_ORIGINS', 'is "*" (any origin) or a list of origins, not both');
  return '*';
}

const AGE_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `HISTORY`: `off`, or `channel=size/age` entries (`private` for every private channel,
 * `channel=off` for one), e.g. `private=1000/5m,trades=1000/1m`; ages in ms, s, m or h.
 */
function recovery(env: NodeJS.ProcessEnv): RealtimeRecoveryOptions {
  const options: RealtimeRecoveryOptions = {
    maxMemoryMessages: number('HISTORY_MEMORY_MESSAGES', env.HISTORY_MEMORY_MESSAGES),
    positionTtlMs: number('POSITION_TTL_MS', env.POSITION_TTL_MS),
  };
  const spec = nonEmpty(env.HISTORY);
  if (spec === undefined) return options;
  if (spec === 'off') return { ...options, history: { private: false, trades: false } };
  const history: Record<string, ChannelHistory | false> = {};
  for (const entry of list(spec) ?? []) {
    const match = /^([^=\s]+)=(?:(off)|(\d+)\/(\d+)(ms|s|m|h)?)$/.exec(entry);
    if (!match)
      throw new ConfigError(
        'HISTORY',
        `entry "${entry}" must be channel=size/age (e.g. trades=1000/1m) or channel=off`,
      );
    const [, channel, off, size, age, unit = 'ms'] = match;
    history[channel!] = off ? false : { size: Number(size), ageMs: Number(age) * AGE_UNITS[unit]! };
  }
  return { ...options, history };
}

/** `JSON_PATH`: the plain-WebSocket endpoint's path, or `off` for none. Unset: the module's default. */
function jsonPath(value: string | undefined): Pick<RealtimeModuleOptions, 'jsonPath'> {
  const path = nonEmpty(value);
  if (path === undefined) return {};
  return { jsonPath: path === 'off' ? false : path };
}

const DEAD_MAN_SWITCH_NUMBERS = {
  graceMs: 'DEAD_MAN_SWITCH_GRACE_MS',
  retries: 'DEAD_MAN_SWITCH_RETRIES',
  instanceTimeoutMs: 'DEAD_MAN_SWITCH_INSTANCE_TIMEOUT_MS',
} as const;

/**
 * The `DEAD_MAN_SWITCH_*` variables; off when none is set. The standalone gateway has no
 * listener of its own for the notice, so the switch needs `DEAD_MAN_SWITCH_URL`.
 */
function deadManSwitch(env: NodeJS.ProcessEnv): DeadManSwitchOptions | undefined {
  const url = nonEmpty(env.DEAD_MAN_SWITCH_URL);
  const secret = nonEmpty(env.DEAD_MAN_SWITCH_SECRET);
  const options: DeadManSwitchOptions = { url, secret };
  for (const [option, variable] of Object.entries(DEAD_MAN_SWITCH_NUMBERS)) {
    const value = number(variable, env[variable]);
    if (value !== undefined) options[option as keyof typeof DEAD_MAN_SWITCH_NUMBERS] = value;
  }
  if (url === undefined) {
    for (const variable of ['DEAD_MAN_SWITCH_SECRET', ...Object.values(DEAD_MAN_SWITCH_NUMBERS)])
      if (nonEmpty(env[variable]))
        throw new ConfigError(
          variable,
          'needs DEAD_MAN_SWITCH_URL (the standalone gateway tells the backend by a POST to it)',
        );
    return undefined;
  }
  if (secret === undefined || secret.length < 16)
    throw new ConfigError(
      'DEAD_MAN_SWITCH_SECRET',
      'must be set with DEAD_MAN_SWITCH_URL, at least 16 characters',
    );
  return options;
}

/**
 * The request relay: the methods of the catalogue file, `REQUEST_HTTP_SECRET`, and
 * `REQUEST_REPLY_TOPIC` on the `KAFKA_BROKERS`. None when no method is declared and no
 * `REQUEST_*` variable is set.
 */
function requests(
  env: NodeJS.ProcessEnv,
  file: LoadedCatalogue | undefined,
  ingress: KafkaIngressOptions | undefined,
): RealtimeRequestsOptions | undefined {
  const methods: readonly RequestMethodDefinition[] = file?.methods ?? [];
  const httpSecret = nonEmpty(env.REQUEST_HTTP_SECRET);
  const replyTopic = nonEmpty(env.REQUEST_REPLY_TOPIC);
  const idempotencyWindowMs = number(
    'REQUEST_IDEMPOTENCY_WINDOW_MS',
    env.REQUEST_IDEMPOTENCY_WINDOW_MS,
  );
  if (
    methods.length === 0 &&
    httpSecret === undefined &&
    replyTopic === undefined &&
    idempotencyWindowMs === undefined
  )
    return undefined;
  if (httpSecret !== undefined && httpSecret.length < 16)
    throw new ConfigError('REQUEST_HTTP_SECRET', 'must be at least 16 characters');
  const kafkaMethods = methods.flatMap((definition, index) =>
    'kafka' in definition.backend
      ? [{ index, method: definition.method, topic: definition.backend.kafka.topic }]
      : [],
  );
  if (replyTopic !== undefined && ingress === undefined)
    throw new ConfigError('REQUEST_REPLY_TOPIC', 'needs KAFKA_BROKERS');
  if (kafkaMethods.length > 0 && replyTopic === undefined)
    throw new ConfigError(
      'REQUEST_REPLY_TOPIC',
      'must be set (with KAFKA_BROKERS) when CATALOGUE_FILE declares a kafka method',
    );
  if (ingress !== undefined && replyTopic !== undefined) {
    const read = [...ingress.topics, ...(ingress.deadLetterTopic ? [ingress.deadLetterTopic] : [])];
    if (read.includes(replyTopic))
      throw new ConfigError(
        'REQUEST_REPLY_TOPIC',
        `must not be one of KAFKA_TOPICS or KAFKA_DLQ_TOPIC, got "${replyTopic}"`,
      );
    for (const { index, method, topic } of kafkaMethods)
      if (read.includes(topic))
        throw new ConfigError(
          'CATALOGUE_FILE',
          `${file!.path}: methods[${index}] (${method}).kafka.topic must not be one of KAFKA_TOPICS or KAFKA_DLQ_TOPIC, got "${topic}"`,
        );
  }
  return {
    methods,
    httpSecret,
    ...(replyTopic !== undefined &&
      ingress !== undefined && {
        kafka: {
          brokers: ingress.brokers,
          replyTopic,
          ...(nonEmpty(env.KAFKA_CLIENT_ID) && { clientId: nonEmpty(env.KAFKA_CLIENT_ID) }),
        },
      }),
    ...(idempotencyWindowMs !== undefined && { idempotencyWindowMs }),
  };
}

interface LoadedCatalogue extends CatalogueFile {
  readonly path: string;
}

function catalogue(env: NodeJS.ProcessEnv): LoadedCatalogue | undefined {
  const file = nonEmpty(env.CATALOGUE_FILE);
  if (file === undefined) return undefined;
  try {
    return { ...loadCatalogueFile(file), path: file };
  } catch (error) {
    if (error instanceof CatalogueFileError) throw new ConfigError('CATALOGUE_FILE', error.message);
    throw error;
  }
}

function redis(env: NodeJS.ProcessEnv): RedisClusterOptions | undefined {
  const url = nonEmpty(env.REDIS_URL);
  const sharded = nonEmpty(env.REDIS_SHARDED);
  if (sharded !== undefined && sharded !== 'true' && sharded !== 'false') {
    throw new ConfigError('REDIS_SHARDED', `must be true or false, got "${sharded}"`);
  }
  if (!url) {
    for (const variable of ['REDIS_SHARDED', 'REDIS_BUS_GROUPS', 'REDIS_BUS_SYMBOL_GROUPS'])
      if (nonEmpty(env[variable])) throw new ConfigError(variable, 'needs REDIS_URL');
    return undefined;
  }
  if (!URL.canParse(url) || !/^rediss?:$/.test(new URL(url).protocol)) {
    throw new ConfigError('REDIS_URL', `must be a redis:// or rediss:// URL, got "${url}"`);
  }
  const busGroups = integer('REDIS_BUS_GROUPS', env.REDIS_BUS_GROUPS, 1, 1024);
  const busSymbolGroups = groupList(env.REDIS_BUS_SYMBOL_GROUPS, busGroups ?? 1);
  return {
    url,
    sharded: sharded === 'true',
    ...(busGroups !== undefined && { busGroups }),
    ...(busSymbolGroups !== undefined && { busSymbolGroups }),
  };
}

/**
 * `REDIS_BUS_SYMBOL_GROUPS`: the symbol groups this instance listens to, as numbers and
 * ranges (`0-7`, `0,3,5`, `0-3,8`); unset for all of them.
 */
function groupList(value: string | undefined, groups: number): number[] | undefined {
  const spec = nonEmpty(value);
  if (spec === undefined) return undefined;
  const variable = 'REDIS_BUS_SYMBOL_GROUPS';
  if (groups === 1) throw new ConfigError(variable, 'needs REDIS_BUS_GROUPS above 1');
  const chosen = new Set<number>();
  for (const entry of list(spec) ?? []) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(entry);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (!match || from > to || to >= groups)
      throw new ConfigError(
        variable,
        `entries must be groups or ranges from 0 to ${groups - 1} (e.g. 0-7 or 0,3,5), got "${entry}"`,
      );
    for (let group = from; group <= to; group++) chosen.add(group);
  }
  return [...chosen].sort((a, b) => a - b);
}

function logLevel(value: string | undefined): GatewayLogLevel {
  const level = nonEmpty(value)?.toLowerCase() ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  }
  return level as GatewayLogLevel;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const BROKER = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

function kafka(env: NodeJS.ProcessEnv): KafkaIngressOptions | undefined {
  const brokers = list(env.KAFKA_BROKERS);
  if (!brokers) {
    for (const variable of ['KAFKA_TOPICS', 'KAFKA_GROUP_ID', 'KAFKA_DLQ_TOPIC']) {
      if (nonEmpty(env[variable])) throw new ConfigError(variable, 'needs KAFKA_BROKERS');
    }
    return undefined;
  }
  for (const broker of brokers) {
    if (!BROKER.test(broker))
      throw new ConfigError('KAFKA_BROKERS', `entries must be host:port, got "${broker}"`);
  }
  const topics = list(env.KAFKA_TOPICS) ?? DEFAULT_KAFKA_TOPICS;
  const deadLetterTopic = nonEmpty(env.KAFKA_DLQ_TOPIC);
  for (const [variable, topic] of [
    ...topics.map((t: string) => ['KAFKA_TOPICS', t]),
    ['KAFKA_DLQ_TOPIC', deadLetterTopic],
  ]) {
    if (topic !== undefined && !TOPIC.test(topic)) {
      throw new ConfigError(
        variable!,
        `entries must be Kafka topic names (A-Z a-z 0-9 . _ -), got "${topic}"`,
      );
    }
  }
  if (deadLetterTopic && topics.includes(deadLetterTopic)) {
    throw new ConfigError('KAFKA_DLQ_TOPIC', 'must not be one of KAFKA_TOPICS');
  }
  return {
    brokers,
    topics,
    groupId: nonEmpty(env.KAFKA_GROUP_ID) ?? DEFAULT_KAFKA_GROUP_ID,
    clientId: nonEmpty(env.KAFKA_CLIENT_ID) ?? 'realtime-gateway',
    deadLetterTopic,
  };
}

function publish(env: NodeJS.ProcessEnv): PublishApiOptions | undefined {
  const apiKey = nonEmpty(env.PUBLISH_API_KEY);
  if (!apiKey) return undefined;
  if (apiKey.length < 16)
    throw new ConfigError('PUBLISH_API_KEY', 'must be at least 16 characters');
  return {
    apiKey,
    maxBodyBytes:
      integer('PUBLISH_MAX_BODY_BYTES', env.PUBLISH_MAX_BODY_BYTES, 1024, 64 * 1024 * 1024) ??
      1024 * 1024,
    maxBatch: integer('PUBLISH_MAX_BATCH', env.PUBLISH_MAX_BATCH, 1, 100_000) ?? 1000,
  };
}

function integer(
  variable: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(variable, `must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
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
