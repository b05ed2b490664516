import { afterAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { required, requestMethod } from '#realtime';
import { ConfigError, loadGatewayConfig } from './gateway-config.js';

const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A catalogue file declaring one http and one kafka method. */
const METHODS_FILE = join(dir, 'methods.yaml');
writeFileSync(
  METHODS_FILE,
  `methods:
  - method: order.place
    params: { symbol: { type: symbol, required: true } }
    http: { url: "http://orders.internal/rpc" }
  - method: market.ask
    kafka: { topic: assistant.requests }
`,
);
const HTTP_ONLY_FILE = join(dir, 'http.yaml');
writeFileSync(
  HTTP_ONLY_FILE,
  'methods:\n  - { method: order.place, http: { url: "http://orders.internal/rpc" } }\n',
);
const REQUEST_SECRET = 'r'.repeat(16);
const DMS_SECRET = 'd'.repeat(16);

const SECRET = 's'.repeat(32);
const rsaPublicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

describe('loadGatewayConfig', () => {
  it('has defaults for everything', () => {
    const config = loadGatewayConfig({});
    expect(config.port).toBe(3000);
    expect(config.host).toBeUndefined();
    expect(config.realtime.corsOrigins).toBe('*');
    expect(config.realtime.symbols).toBeUndefined();
    expect(config.realtime.auth?.secret).toBeUndefined();
  });

  it('reads every variable', () => {
    const config = loadGatewayConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      CORS_ORIGINS: 'https://a.example, http://localhost:5173',
      SYMBOLS: 'BTCUSDT,ETHUSDT',
      JWT_SECRET: SECRET,
      JWT_ALGORITHMS: 'HS256,HS512',
      JWT_ISSUER: 'https://auth.example',
      JWT_AUDIENCE: 'gateway,web',
      JWT_CLOCK_SKEW_SECONDS: '2',
      REDIS_URL: 'redis://cache:6379/1',
      REDIS_SHARDED: 'true',
      DRAIN_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'warn',
      ADMIN_ROLE: 'ops',
      INSTANCE_ID: 'edge-1',
    });
    expect(config).toMatchObject({
      redis: { url: 'redis://cache:6379/1', sharded: true },
      drainTimeoutMs: 5000,
      logLevel: 'warn',
      admin: { role: 'ops' },
      port: 8080,
      host: '127.0.0.1',
      realtime: {
        corsOrigins: ['https://a.example', 'http://localhost:5173'],
        symbols: ['BTCUSDT', 'ETHUSDT'],
        orderBookDepth: undefined,
        recentTrades: undefined,
        tickerConflationMs: 100,
        allTickersIntervalMs: undefined,
        instanceId: 'edge-1',
        auth: {
          secret: SECRET,
          publicKey: undefined,
          algorithms: ['HS256', 'HS512'],
          issuer: 'https://auth.example',
          audience: ['gateway', 'web'],
          clockSkewSeconds: 2,
        },
      },
    });
  });

  it('reads the bus groups: a count, and the symbol groups as numbers and ranges', () => {
    expect(loadGatewayConfig({ REDIS_URL: 'redis://r:6379' }).redis).toEqual({
      url: 'redis://r:6379',
      sharded: false,
    });
    expect(
      loadGatewayConfig({
        REDIS_URL: 'redis://r:6379',
        REDIS_BUS_GROUPS: '16',
        REDIS_BUS_SYMBOL_GROUPS: '8-11, 3,0-1,3',
      }).redis,
    ).toEqual({
      url: 'redis://r:6379',
      sharded: false,
      busGroups: 16,
      busSymbolGroups: [0, 1, 3, 8, 9, 10, 11],
    });
  });

  it('reads the Kafka and publish variables, with defaults', () => {
    expect(
      loadGatewayConfig({
        KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092',
        PUBLISH_API_KEY: 'k'.repeat(16),
      }),
    ).toMatchObject({
      kafka: {
        brokers: ['kafka-1:9092', 'kafka-2:9092'],
        topics: ['exchange.market-data', 'exchange.user-events', 'exchange.system-events'],
        groupId: 'realtime-gateway',
        clientId: 'realtime-gateway',
        deadLetterTopic: undefined,
      },
      publish: { apiKey: 'k'.repeat(16), maxBodyBytes: 1024 * 1024, maxBatch: 1000 },
    });
    expect(
      loadGatewayConfig({
        KAFKA_BROKERS: '127.0.0.1:9092',
        KAFKA_TOPICS: 'md,ue',
        KAFKA_GROUP_ID: 'edge',
        KAFKA_DLQ_TOPIC: 'realtime.dlq',
        PUBLISH_API_KEY: 'k'.repeat(16),
        PUBLISH_MAX_BODY_BYTES: '2048',
        PUBLISH_MAX_BATCH: '10',
      }),
    ).toMatchObject({
      kafka: { topics: ['md', 'ue'], groupId: 'edge', deadLetterTopic: 'realtime.dlq' },
      publish: { maxBodyBytes: 2048, maxBatch: 10 },
    });
    const none = loadGatewayConfig({});
    expect(none.kafka).toBeUndefined();
    expect(none.publish).toBeUndefined();
  });

  it('reads METRICS_TOKEN, trimmed; /metrics is open without it', () => {
    const token = 'm'.repeat(16);
    expect(loadGatewayConfig({ METRICS_TOKEN: token }).metrics).toEqual({ token });
    expect(loadGatewayConfig({ METRICS_TOKEN: `  ${token}\n` }).metrics).toEqual({ token });
    expect(loadGatewayConfig({}).metrics).toEqual({ token: undefined });
    expect(loadGatewayConfig({ METRICS_TOKEN: '   ' }).metrics).toEqual({ token: undefined });
  });

  it('reads CORS_ORIGINS: "*", empty or unset for any origin, else the list', () => {
    expect(loadGatewayConfig({ CORS_ORIGINS: '*' }).realtime.corsOrigins).toBe('*');
    expect(loadGatewayConfig({ CORS_ORIGINS: ' * ' }).realtime.corsOrigins).toBe('*');
    expect(loadGatewayConfig({ CORS_ORIGINS: '' }).realtime.corsOrigins).toBe('*');
    expect(loadGatewayConfig({}).realtime.corsOrigins).toBe('*');
    expect(
      loadGatewayConfig({ CORS_ORIGINS: 'https://a.example,https://b.example:8443' }).realtime
        .corsOrigins,
    ).toEqual(['https://a.example', 'https://b.example:8443']);
  });

  it('reads HISTORY per channel (private for every private one), off, and its bounds', () => {
    expect(
      loadGatewayConfig({
        HISTORY: 'private=500/2m, trades=off,ticker=5/1500ms,user.orders=2000/1h',
        HISTORY_MEMORY_MESSAGES: '1000',
        POSITION_TTL_MS: '60000',
      }).realtime.recovery,
    ).toEqual({
      history: {
        private: { size: 500, ageMs: 120_000 },
        trades: false,
        ticker: { size: 5, ageMs: 1500 },
        'user.orders': { size: 2000, ageMs: 3_600_000 },
      },
      maxMemoryMessages: 1000,
      positionTtlMs: 60_000,
    });
    expect(loadGatewayConfig({ HISTORY: 'off' }).realtime.recovery?.history).toEqual({
      private: false,
      trades: false,
    });
  });

  it('reads the limits', () => {
    expect(
      loadGatewayConfig({
        MESSAGE_RATE_LIMIT: '5',
        MESSAGE_RATE_BURST: '10',
        MAX_CONNECTIONS_PER_IP: '0',
        TRUST_PROXY: 'true',
      }).realtime.limits,
    ).toEqual({ messageRate: 5, messageBurst: 10, maxConnectionsPerIp: 0, trustProxy: true });
  });

  it('reads JSON_PATH: a path, or off for no plain endpoint; unset leaves the default', () => {
    expect(loadGatewayConfig({ JSON_PATH: '/bots' }).realtime.jsonPath).toBe('/bots');
    expect(loadGatewayConfig({ JSON_PATH: ' off ' }).realtime.jsonPath).toBe(false);
    expect('jsonPath' in loadGatewayConfig({}).realtime).toBe(false);
    expect('jsonPath' in loadGatewayConfig({ JSON_PATH: ' ' }).realtime).toBe(false);
  });

  it('reads the DEAD_MAN_SWITCH_* variables; the switch is off when none is set', () => {
    expect(
      loadGatewayConfig({
        DEAD_MAN_SWITCH_URL: 'https://orders.internal/cancel-all',
        DEAD_MAN_SWITCH_SECRET: DMS_SECRET,
        DEAD_MAN_SWITCH_GRACE_MS: '3000',
        DEAD_MAN_SWITCH_RETRIES: '5',
        DEAD_MAN_SWITCH_INSTANCE_TIMEOUT_MS: '20000',
      }).realtime.deadManSwitch,
    ).toEqual({
      url: 'https://orders.internal/cancel-all',
      secret: DMS_SECRET,
      graceMs: 3000,
      retries: 5,
      instanceTimeoutMs: 20_000,
    });
    expect(
      loadGatewayConfig({ DEAD_MAN_SWITCH_URL: 'http://b/x', DEAD_MAN_SWITCH_SECRET: DMS_SECRET })
        .realtime.deadManSwitch,
    ).toEqual({ url: 'http://b/x', secret: DMS_SECRET });
    expect(loadGatewayConfig({}).realtime.deadManSwitch).toBeUndefined();
  });

  it('reads the methods of CATALOGUE_FILE and the REQUEST_* variables into requests', () => {
    const config = loadGatewayConfig({
      CATALOGUE_FILE: METHODS_FILE,
      REQUEST_HTTP_SECRET: REQUEST_SECRET,
      KAFKA_BROKERS: 'kafka-1:9092,kafka-2:9092',
      REQUEST_REPLY_TOPIC: 'gateway.replies',
      REQUEST_IDEMPOTENCY_WINDOW_MS: '0',
    });
    expect(config.realtime.requests).toEqual({
      methods: [
        requestMethod({
          method: 'order.place',
          params: { symbol: required('symbol') },
          backend: { http: { url: 'http://orders.internal/rpc' } },
        }),
        requestMethod({
          method: 'market.ask',
          params: {},
          backend: { kafka: { topic: 'assistant.requests' } },
        }),
      ],
      httpSecret: REQUEST_SECRET,
      kafka: { brokers: ['kafka-1:9092', 'kafka-2:9092'], replyTopic: 'gateway.replies' },
      idempotencyWindowMs: 0,
    });
    expect(config.realtime.events).toEqual([]);
    expect(
      loadGatewayConfig({
        CATALOGUE_FILE: METHODS_FILE,
        REQUEST_HTTP_SECRET: REQUEST_SECRET,
        KAFKA_BROKERS: 'k:9092',
        KAFKA_CLIENT_ID: 'edge',
        REQUEST_REPLY_TOPIC: 'gateway.replies',
      }).realtime.requests?.kafka,
    ).toEqual({ brokers: ['k:9092'], replyTopic: 'gateway.replies', clientId: 'edge' });
    const httpOnly = loadGatewayConfig({
      CATALOGUE_FILE: HTTP_ONLY_FILE,
      REQUEST_HTTP_SECRET: REQUEST_SECRET,
    }).realtime.requests;
    expect(httpOnly).toEqual({ methods: [expect.anything()], httpSecret: REQUEST_SECRET });
    expect(loadGatewayConfig({}).realtime.requests).toBeUndefined();
  });

  it('accepts a PEM public key written on one line with \\n', () => {
    const config = loadGatewayConfig({ JWT_PUBLIC_KEY: rsaPublicKey.replace(/\n/g, '\\n') });
    expect(config.realtime.auth?.publicKey).toBe(rsaPublicKey);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer from 0 to 65535, got "abc"'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535, got "70000"'],
    [{ PORT: '80.5' }, 'PORT must be an integer'],
    [
      { CORS_ORIGINS: 'example.com' },
      'CORS_ORIGINS entry "example.com" must be scheme://host[:port]',
    ],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS entry'],
    [{ SYMBOLS: 'BTCUSDT,eth' }, 'SYMBOLS entry "eth" must match'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET must be at least 32 characters'],
    [
      { JWT_SECRET: SECRET, JWT_PUBLIC_KEY: rsaPublicKey },
      'JWT_SECRET and auth.publicKey are exclusive',
    ],
    [{ JWT_PUBLIC_KEY: 'not a key' }, 'JWT_PUBLIC_KEY is not a PEM public key'],
    [{ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'none' }, 'JWT_ALGORITHMS has "none"'],
    [
      { JWT_SECRET: SECRET, JWT_ALGORITHMS: 'RS256' },
      'JWT_ALGORITHMS must be HS256, HS384 or HS512 with a secret',
    ],
    [
      { JWT_PUBLIC_KEY: rsaPublicKey, JWT_ALGORITHMS: 'HS256' },
      'JWT_ALGORITHMS do not fit the RSA public key',
    ],
    [{ JWT_ALGORITHMS: 'HS256' }, 'JWT_ALGORITHMS needs auth.secret or auth.publicKey'],
    [
      { JWT_SECRET: SECRET, JWT_CLOCK_SKEW_SECONDS: 'soon' },
      'JWT_CLOCK_SKEW_SECONDS must be a number',
    ],
    [
      { JWT_SECRET: SECRET, JWT_CLOCK_SKEW_SECONDS: '-1' },
      'JWT_CLOCK_SKEW_SECONDS must be 0 to 300',
    ],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS entries must be host:port, got "localhost"'],
    [{ KAFKA_TOPICS: 'a' }, 'KAFKA_TOPICS needs KAFKA_BROKERS'],
    [
      { KAFKA_BROKERS: 'k:9092', KAFKA_TOPICS: 'bad topic' },
      'KAFKA_TOPICS entries must be Kafka topic names',
    ],
    [
      { KAFKA_BROKERS: 'k:9092', KAFKA_TOPICS: 'a,b', KAFKA_DLQ_TOPIC: 'b' },
      'KAFKA_DLQ_TOPIC must not be one of KAFKA_TOPICS',
    ],
    [{ PUBLISH_API_KEY: 'short' }, 'PUBLISH_API_KEY must be at least 16 characters'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 16 characters'],
    [{ METRICS_TOKEN: ` ${'m'.repeat(15)} ` }, 'METRICS_TOKEN must be at least 16 characters'],
    [
      { PUBLISH_API_KEY: 'k'.repeat(16), PUBLISH_MAX_BATCH: '0' },
      'PUBLISH_MAX_BATCH must be an integer from 1 to 100000',
    ],
    [
      { PUBLISH_API_KEY: 'k'.repeat(16), PUBLISH_MAX_BODY_BYTES: '1kb' },
      'PUBLISH_MAX_BODY_BYTES must be an integer',
    ],
    [{ ORDERBOOK_DEPTH: '0' }, 'ORDERBOOK_DEPTH must be an integer from 1 to 100000, got 0'],
    [{ TICKER_CONFLATION_MS: '-5' }, 'TICKER_CONFLATION_MS must be an integer from 0 to 60000'],
    [{ RECENT_TRADES: 'many' }, 'RECENT_TRADES must be a number'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must be a redis:// or rediss:// URL'],
    [{ REDIS_SHARDED: 'true' }, 'REDIS_SHARDED needs REDIS_URL'],
    [{ REDIS_URL: 'redis://r:6379', REDIS_SHARDED: 'yes' }, 'REDIS_SHARDED must be true or false'],
    [{ REDIS_BUS_GROUPS: '8' }, 'REDIS_BUS_GROUPS needs REDIS_URL'],
    [{ REDIS_BUS_SYMBOL_GROUPS: '0-3' }, 'REDIS_BUS_SYMBOL_GROUPS needs REDIS_URL'],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_BUS_GROUPS: '0' },
      'REDIS_BUS_GROUPS must be an integer from 1 to 1024, got "0"',
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_BUS_GROUPS: '1025' },
      'REDIS_BUS_GROUPS must be an integer from 1 to 1024',
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_BUS_GROUPS: '2.5' },
      'REDIS_BUS_GROUPS must be an integer',
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_BUS_SYMBOL_GROUPS: '0-3' },
      'REDIS_BUS_SYMBOL_GROUPS needs REDIS_BUS_GROUPS above 1',
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_BUS_GROUPS: '8', REDIS_BUS_SYMBOL_GROUPS: '0-8' },
      'REDIS_BUS_SYMBOL_GROUPS entries must be groups or ranges from 0 to 7 (e.g. 0-7 or 0,3,5), got "0-8"',
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_BUS_GROUPS: '8', REDIS_BUS_SYMBOL_GROUPS: '5-2' },
      'REDIS_BUS_SYMBOL_GROUPS entries must be groups or ranges from 0 to 7',
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_BUS_GROUPS: '8', REDIS_BUS_SYMBOL_GROUPS: 'a' },
      'REDIS_BUS_SYMBOL_GROUPS entries must be groups or ranges',
    ],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of error, warn, info, debug, verbose'],
    [{ DRAIN_TIMEOUT_MS: '-1' }, 'DRAIN_TIMEOUT_MS must be an integer from 0 to 600000'],
    [
      { MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' },
      'MAX_SUBSCRIPTIONS_PER_CONNECTION must be an integer from 1 to 100000',
    ],
    [{ MESSAGE_RATE_LIMIT: 'fast' }, 'MESSAGE_RATE_LIMIT must be a number'],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY must be true or false'],
    [{ MAX_MESSAGE_BYTES: '10' }, 'MAX_MESSAGE_BYTES must be an integer from 256'],
    [
      { CORS_ORIGINS: '*,https://app.example.com' },
      'CORS_ORIGINS is "*" (any origin) or a list of origins, not both',
    ],
    [{ HISTORY: 'trades=1000' }, 'HISTORY entry "trades=1000" must be channel=size/age'],
    [{ HISTORY: 'candles=10/1m' }, 'HISTORY names no channel; channels: ticker, orderbook'],
    [{ HISTORY: 'orderbook=10/1m' }, 'HISTORY order books recover by a snapshot'],
    [{ HISTORY: 'trades=1000000/1m' }, 'HISTORY must be an integer from 0 to 100000'],
    [{ HISTORY: 'trades=10/2d' }, 'HISTORY entry "trades=10/2d" must be channel=size/age'],
    [{ POSITION_TTL_MS: '5' }, 'POSITION_TTL_MS must be an integer from 1000'],
    [{ HISTORY_MEMORY_MESSAGES: '-1' }, 'HISTORY_MEMORY_MESSAGES must be an integer from 0'],
    [{ JSON_PATH: 'bots' }, 'JSON_PATH must be a path starting with "/" outside /socket.io/'],
    [{ JSON_PATH: '/socket.io/json' }, 'JSON_PATH must be a path starting with "/"'],
    [
      { DEAD_MAN_SWITCH_URL: 'ftp://b/x', DEAD_MAN_SWITCH_SECRET: DMS_SECRET },
      'DEAD_MAN_SWITCH_URL must be an http(s) URL, got "ftp://b/x"',
    ],
    [
      { DEAD_MAN_SWITCH_URL: 'http://b/x' },
      'DEAD_MAN_SWITCH_SECRET must be set with DEAD_MAN_SWITCH_URL, at least 16 characters',
    ],
    [
      { DEAD_MAN_SWITCH_URL: 'http://b/x', DEAD_MAN_SWITCH_SECRET: 'short' },
      'DEAD_MAN_SWITCH_SECRET must be set with DEAD_MAN_SWITCH_URL, at least 16 characters',
    ],
    [{ DEAD_MAN_SWITCH_GRACE_MS: '1000' }, 'DEAD_MAN_SWITCH_GRACE_MS needs DEAD_MAN_SWITCH_URL'],
    [{ DEAD_MAN_SWITCH_SECRET: DMS_SECRET }, 'DEAD_MAN_SWITCH_SECRET needs DEAD_MAN_SWITCH_URL'],
    [
      {
        DEAD_MAN_SWITCH_URL: 'http://b/x',
        DEAD_MAN_SWITCH_SECRET: DMS_SECRET,
        DEAD_MAN_SWITCH_GRACE_MS: 'soon',
      },
      'DEAD_MAN_SWITCH_GRACE_MS must be a number, got "soon"',
    ],
    [
      {
        DEAD_MAN_SWITCH_URL: 'http://b/x',
        DEAD_MAN_SWITCH_SECRET: DMS_SECRET,
        DEAD_MAN_SWITCH_GRACE_MS: '-1',
      },
      'DEAD_MAN_SWITCH_GRACE_MS must be an integer from 0 to 3600000, got -1',
    ],
    [
      {
        DEAD_MAN_SWITCH_URL: 'http://b/x',
        DEAD_MAN_SWITCH_SECRET: DMS_SECRET,
        DEAD_MAN_SWITCH_RETRIES: '21',
      },
      'DEAD_MAN_SWITCH_RETRIES must be an integer from 0 to 20, got 21',
    ],
    [
      {
        DEAD_MAN_SWITCH_URL: 'http://b/x',
        DEAD_MAN_SWITCH_SECRET: DMS_SECRET,
        DEAD_MAN_SWITCH_INSTANCE_TIMEOUT_MS: '3000',
      },
      'DEAD_MAN_SWITCH_INSTANCE_TIMEOUT_MS must be at least twice heartbeatMs (4000), got 3000',
    ],
    [
      { CATALOGUE_FILE: HTTP_ONLY_FILE },
      'REQUEST_HTTP_SECRET must be set when an http method is declared, at least 16 characters',
    ],
    [
      { CATALOGUE_FILE: HTTP_ONLY_FILE, REQUEST_HTTP_SECRET: 'short' },
      'REQUEST_HTTP_SECRET must be at least 16 characters',
    ],
    [{ REQUEST_HTTP_SECRET: 'short' }, 'REQUEST_HTTP_SECRET must be at least 16 characters'],
    [
      {
        CATALOGUE_FILE: METHODS_FILE,
        REQUEST_HTTP_SECRET: REQUEST_SECRET,
        KAFKA_BROKERS: 'k:9092',
      },
      'REQUEST_REPLY_TOPIC must be set (with KAFKA_BROKERS) when CATALOGUE_FILE declares a kafka method',
    ],
    [{ REQUEST_REPLY_TOPIC: 'gateway.replies' }, 'REQUEST_REPLY_TOPIC needs KAFKA_BROKERS'],
    [
      { KAFKA_BROKERS: 'k:9092', REQUEST_REPLY_TOPIC: 'exchange.user-events' },
      'REQUEST_REPLY_TOPIC must not be one of KAFKA_TOPICS or KAFKA_DLQ_TOPIC, got "exchange.user-events"',
    ],
    [
      {
        CATALOGUE_FILE: METHODS_FILE,
        REQUEST_HTTP_SECRET: REQUEST_SECRET,
        KAFKA_BROKERS: 'k:9092',
        KAFKA_TOPICS: 'assistant.requests',
        REQUEST_REPLY_TOPIC: 'gateway.replies',
      },
      `CATALOGUE_FILE ${METHODS_FILE}: methods[1] (market.ask).kafka.topic must not be one of KAFKA_TOPICS or KAFKA_DLQ_TOPIC, got "assistant.requests"`,
    ],
    [
      {
        CATALOGUE_FILE: METHODS_FILE,
        REQUEST_HTTP_SECRET: REQUEST_SECRET,
        KAFKA_BROKERS: 'k:9092',
        REQUEST_REPLY_TOPIC: 'assistant.requests',
      },
      'REQUEST_REPLY_TOPIC must not be a request topic (method market.ask sends to it)',
    ],
    [
      {
        CATALOGUE_FILE: METHODS_FILE,
        REQUEST_HTTP_SECRET: REQUEST_SECRET,
        KAFKA_BROKERS: 'k:9092',
        REQUEST_REPLY_TOPIC: 'bad topic',
      },
      'REQUEST_REPLY_TOPIC must be a Kafka topic name (A-Z a-z 0-9 . _ -), got "bad topic"',
    ],
    [
      {
        CATALOGUE_FILE: HTTP_ONLY_FILE,
        REQUEST_HTTP_SECRET: REQUEST_SECRET,
        REQUEST_IDEMPOTENCY_WINDOW_MS: '-1',
      },
      'REQUEST_IDEMPOTENCY_WINDOW_MS must be an integer from 0 to 86400000, got -1',
    ],
    [
      { REQUEST_IDEMPOTENCY_WINDOW_MS: 'a minute' },
      'REQUEST_IDEMPOTENCY_WINDOW_MS must be a number, got "a minute"',
    ],
  ])('names the variable in its one-line error for %j', (env, message) => {
    expect(() => loadGatewayConfig(env)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(env)).toThrow(message);
  });
});
