import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, loadGatewayConfig } from '../apps/gateway/src/config/gateway-config.js';

/*
 * docker-compose.yml read as Compose reads it (there is no Docker engine here): YAML with
 * anchors and `<<` merges, `${...}` interpolation from the shell, each container's
 * environment (the image's ENV, then the service's `environment`), and that environment
 * through the gateway's own configuration check.
 */

type Shell = Readonly<Record<string, string | undefined>>;
type Service = Record<string, any>;

/** Compose's refusal of a `${VAR:?message}` whose variable is unset or empty. */
class MissingVariable extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Compose interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `:?`, `?`, `:+`, `+`. */
function interpolate(text: string, shell: Shell, where: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '$') {
      out += text[i++];
      continue;
    }
    if (text[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] === '{') {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') depth--;
      }
      if (depth > 0) throw new Error(`${where}: unterminated "\${" in "${text}"`);
      out += expand(text.slice(i + 2, j - 1), shell, where);
      i = j;
      continue;
    }
    const name = NAME.exec(text.slice(i + 1))?.[0];
    if (!name) throw new Error(`${where}: invalid interpolation format in "${text}"`);
    out += shell[name] ?? '';
    i += 1 + name.length;
  }
  return out;
}

function expand(body: string, shell: Shell, where: string): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (!match) throw new Error(`${where}: invalid interpolation format "\${${body}}"`);
  const [, name, operator, argument = ''] = match;
  const value = shell[name!];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const rest = () => interpolate(argument, shell, where);
  switch (operator) {
    case undefined:
      return value ?? '';
    case ':-':
      return nonEmpty ? value : rest();
    case '-':
      return set ? value : rest();
    case ':?':
    case '?':
      if (operator === ':?' ? !nonEmpty : !set)
        throw new MissingVariable(`required variable ${name} is missing a value: ${rest()}`);
      return value!;
    case ':+':
      return nonEmpty ? rest() : '';
    default:
      return set ? rest() : '';
  }
}

/** Every string value of the document interpolated (keys are not, as in Compose). */
function interpolated(node: unknown, shell: Shell, where = ''): any {
  if (typeof node === 'string') return interpolate(node, shell, where);
  if (Array.isArray(node))
    return node.map((item, i) => interpolated(item, shell, `${where}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [
        key,
        interpolated(value, shell, where ? `${where}.${key}` : key),
      ]),
    );
  }
  return node;
}

const COMPOSE_TEXT = readFileSync('docker-compose.yml', 'utf8');

/** The compose file as `docker compose up` sees it with `shell` exported. */
function compose(shell: Shell): { services: Record<string, Service> } {
  return interpolated(parse(COMPOSE_TEXT, { merge: true }), shell);
}

/** `ENV` of the Dockerfile's last stage: what every container starts with. */
function imageEnvironment(): Record<string, string> {
  const lines = readFileSync('Dockerfile', 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/);
  const lastStage = lines.findLastIndex((line) => /^\s*FROM\s/i.test(line));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastStage)) {
    const instruction = /^\s*ENV\s+(.*)$/i.exec(line)?.[1];
    if (instruction === undefined) continue;
    if (!instruction.includes('=')) {
      const [key, ...value] = instruction.trim().split(/\s+/);
      env[key!] = value.join(' ');
      continue;
    }
    for (const [, key, raw] of instruction.matchAll(
      /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g,
    )) {
      env[key!] = /^["']/.test(raw!) ? raw!.slice(1, -1) : raw!;
    }
  }
  return env;
}

/** A container's environment: the image's, then the service's (a bare key: the shell's value). */
function containerEnvironment(service: Service, shell: Shell): Record<string, string> {
  const env = imageEnvironment();
  const entries: Array<[string, unknown]> = Array.isArray(service.environment)
    ? service.environment.map((entry: string) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, null] : [entry.slice(0, at), entry.slice(at + 1)];
      })
    : Object.entries(service.environment ?? {});
  for (const [key, value] of entries) {
    if (value === null || value === undefined) {
      if (shell[key] !== undefined) env[key] = shell[key];
    } else {
      env[key] = String(value);
    }
  }
  return env;
}

/** The services built from this repository: the gateway replicas. */
function gateways(services: Record<string, Service>): Array<[string, Service]> {
  return Object.entries(services).filter(([, service]) => service.build !== undefined);
}

/** What the README tells users to export before `docker compose up`. */
function readmeExports(): Record<string, string> {
  return {
    // export JWT_SECRET=$(openssl rand -hex 32) PUBLISH_API_KEY=$(openssl rand -hex 16)
    JWT_SECRET: randomBytes(32).toString('hex'),
    PUBLISH_API_KEY: randomBytes(16).toString('hex'),
  };
}

/** [host, container] ports of a service's `ports`, short or long syntax. */
function publishedPorts(service: Service): Array<[string, string]> {
  return (service.ports ?? []).map((entry: string | Record<string, unknown>) => {
    if (typeof entry === 'object') return [String(entry.published), String(entry.target)];
    const [mapping] = String(entry).split('/');
    const parts = mapping!.split(':');
    return [parts.at(-2) ?? parts.at(-1)!, parts.at(-1)!];
  });
}

function dependencies(service: Service): Record<string, { condition?: string }> {
  const dependsOn = service.depends_on ?? {};
  return Array.isArray(dependsOn)
    ? Object.fromEntries(dependsOn.map((name: string) => [name, {}]))
    : dependsOn;
}

/** A Compose duration such as `20s` or `1m30s`, in milliseconds. */
function milliseconds(duration: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...String(duration).matchAll(/(\d+)(ms|s|m|h)/g)];
  expect(parts.map(([part]) => part).join('')).toBe(duration);
  return parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * units[unit!]!, 0);
}

describe('docker-compose.yml', () => {
  it('gives every gateway replica an environment its configuration accepts, with what the README says to export', () => {
    const shell = readmeExports();
    const { services } = compose(shell);
    const replicas = gateways(services);
    expect(replicas.map(([name]) => name)).toEqual(['gateway', 'gateway-2']);
    const instances = new Set<string>();
    for (const [name, service] of replicas) {
      const env = containerEnvironment(service, shell);
      let config: ReturnType<typeof loadGatewayConfig>;
      try {
        config = loadGatewayConfig(env);
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`, { cause: error });
      }
      expect(config.port).toBe(3000);
      expect(config.host).toBe('0.0.0.0');
      // CORS_ORIGINS left unset: any origin, the default the README gives.
      expect(config.realtime.corsOrigins).toBe('*');
      expect(config.realtime.auth?.secret).toBe(shell.JWT_SECRET);
      expect(config.publish?.apiKey).toBe(shell.PUBLISH_API_KEY);
      expect(config.kafka).toMatchObject({
        brokers: ['kafka:29092'],
        groupId: 'realtime-gateway',
        deadLetterTopic: 'realtime.dead-letters',
      });
      expect(config.redis).toEqual({ url: 'redis://redis:6379', sharded: false });
      expect(config.logLevel).toBe('info');
      instances.add(config.realtime.instanceId!);
    }
    expect(instances).toEqual(new Set(['gateway-1', 'gateway-2']));
  });

  it('passes the optional variables from the shell to every replica', () => {
    const shell = {
      ...readmeExports(),
      CORS_ORIGINS: 'https://app.example.com,http://localhost:5173',
      SYMBOLS: 'BTCUSDT,ETHUSDT',
      JWT_ISSUER: 'https://auth.example.com',
      JWT_AUDIENCE: 'exchange',
      METRICS_TOKEN: randomBytes(16).toString('hex'),
      LOG_LEVEL: 'debug',
    };
    for (const [, service] of gateways(compose(shell).services)) {
      const config = loadGatewayConfig(containerEnvironment(service, shell));
      expect(config.realtime.corsOrigins).toEqual([
        'https://app.example.com',
        'http://localhost:5173',
      ]);
      expect(config.realtime.symbols).toEqual(['BTCUSDT', 'ETHUSDT']);
      expect(config.realtime.auth).toMatchObject({
        issuer: 'https://auth.example.com',
        audience: ['exchange'],
      });
      expect(config.metrics.token).toBe(shell.METRICS_TOKEN);
      expect(config.logLevel).toBe('debug');
    }
  });

  it.each(['JWT_SECRET', 'PUBLISH_API_KEY'])(
    'refuses to start without %s exported, saying what to export',
    (variable) => {
      for (const value of [undefined, '']) {
        const shell = { ...readmeExports(), [variable]: value };
        expect(() => compose(shell)).toThrow(MissingVariable);
        expect(() => compose(shell)).toThrow(
          new RegExp(
            `^required variable ${variable} is missing a value: export ${variable} .*before docker compose up$`,
          ),
        );
      }
    },
  );

  it("hands the shell's values to the gateway's own check", () => {
    // What the message asks for matters: the gateway refuses a short secret at start-up.
    const shell = { ...readmeExports(), JWT_SECRET: 'too-short' };
    const [, service] = gateways(compose(shell).services)[0]!;
    expect(() => loadGatewayConfig(containerEnvironment(service, shell))).toThrow(ConfigError);
    expect(() => loadGatewayConfig(containerEnvironment(service, shell))).toThrow(
      'JWT_SECRET must be at least 32 characters',
    );
  });

  it('sets only variables the gateway reads', () => {
    const source = readFileSync('apps/gateway/src/config/gateway-config.ts', 'utf8');
    for (const [name, service] of gateways(compose(readmeExports()).services)) {
      for (const variable of Object.keys(service.environment)) {
        const read = source.includes(`env.${variable}`) || source.includes(`'${variable}'`);
        expect({ service: name, variable, read }).toEqual({ service: name, variable, read: true });
      }
    }
  });

  it('has services that name each other consistently', () => {
    const { services } = compose(readmeExports());
    const names = Object.keys(services);
    const hostPorts = new Map<string, string>();
    for (const [name, service] of Object.entries(services)) {
      // Something restarts every service after a crash or a reboot of the host.
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
      for (const [dependency, { condition }] of Object.entries(dependencies(service))) {
        expect(names).toContain(dependency);
        expect(dependency).not.toBe(name);
        if (condition === 'service_healthy')
          expect(services[dependency]!.healthcheck).toBeDefined();
      }
      for (const [host] of publishedPorts(service)) {
        expect({ port: host, service: name, taken: hostPorts.get(host) }).toEqual({
          port: host,
          service: name,
          taken: undefined,
        });
        hostPorts.set(host, name);
      }
    }

    const kafkaListeners = String(services.kafka!.environment.KAFKA_ADVERTISED_LISTENERS);
    for (const [name, service] of gateways(services)) {
      const env = containerEnvironment(service, readmeExports());
      const needs = dependencies(service);
      // The health check asks the port the gateway listens on, which is the one published.
      expect(service.healthcheck.test).toEqual([
        'CMD',
        'wget',
        '-qO-',
        `http://127.0.0.1:${env.PORT}/health/ready`,
      ]);
      expect(publishedPorts(service).map(([, container]) => container)).toEqual([env.PORT]);
      const redis = new URL(env.REDIS_URL!).hostname;
      expect({ name, redis, healthy: needs[redis]?.condition }).toEqual({
        name,
        redis,
        healthy: 'service_healthy',
      });
      for (const broker of env.KAFKA_BROKERS!.split(',')) {
        const host = broker.split(':')[0]!;
        expect({ name, host, healthy: needs[host]?.condition }).toEqual({
          name,
          host,
          healthy: 'service_healthy',
        });
        // The broker hands clients back an address they can reach: the one they dialled.
        expect(kafkaListeners.split(',').map((listener) => listener.split('//')[1])).toContain(
          broker,
        );
      }
      // Longer than the drain, so a SIGTERM closes every connection before Docker kills it.
      expect(milliseconds(service.stop_grace_period)).toBeGreaterThan(Number(env.DRAIN_TIMEOUT_MS));
    }
  });

  it('runs the Kafka version the local broker script and the tests use', () => {
    const script = readFileSync('scripts/kafka/kafka-broker.mjs', 'utf8');
    const version = /const DEFAULT_VERSION = '([^']+)'/.exec(script)?.[1];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(compose(readmeExports()).services.kafka!.image).toBe(`apache/kafka:${version}`);
  });
});
