import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { DEFAULT_KAFKA_TOPICS } from '../apps/gateway/src/kafka/kafka-ingress-options.js';
import { gatewayManifest } from '../scripts/gateway-dependencies.mjs';
import {
  DockerIgnore,
  filesUnder,
  parseDockerfile,
  performStages,
  sh,
  stageEnv,
} from './support/dockerfile.js';
import { Recorder, command, until } from './support/gateway-harness.js';
import { TestKafka, connectedProducer, ensureTopics } from './support/kafka.js';
import { freePort } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';

const REPO = process.cwd();
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');
const DOCKERFILE = read('Dockerfile');
const PACKAGE = JSON.parse(read('package.json'));

/**
 * What a tsconfig's `include` may name without the image copying it: inputs of the
 * repository's build that the gateway does not need.
 */
const NOT_FOR_THE_IMAGE: Record<string, string> = {
  'bench/servers': 'the benchmark servers',
};

/** Node release lines that are LTS (even majors) and past their end of life. */
const END_OF_LIFE_MAJORS = new Set([4, 6, 8, 10, 12, 14, 16, 18, 20]);

/**
 * What a Dockerfile's RUN steps need that it does not copy before them, and its other
 * defects; empty when none. Reads the commands this repository uses: `npm ci`,
 * `npm run <script>` (and the script's own commands), `node <file>`, `tsc -p <config>`.
 */
function dockerfileProblems(text: string, context = REPO): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  const ignore = new DockerIgnore(
    existsSync(path.join(context, '.dockerignore'))
      ? readFileSync(path.join(context, '.dockerignore'), 'utf8')
      : '',
  );
  const manifest = JSON.parse(readFileSync(path.join(context, 'package.json'), 'utf8'));
  for (const stage of stages) {
    let workdir = '/';
    // In-stage absolute paths copied so far; a directory copied from a stage counts whole.
    const copied = new Set<string>();
    const has = (p: string) => {
      const full = path.posix.resolve(workdir, p);
      return [...copied].some((c) => c === full || full.startsWith(c + '/'));
    };
    const need = (file: string, why: string, line: number) => {
      if (!has(file)) problems.push(`line ${line}: ${why} needs ${file}, not copied before it`);
    };
    const commands = (run: string, line: number, depth = 0): void => {
      for (const part of run.split(/&&|;/).map((c) => c.trim())) {
        const words = part.split(/\s+/);
        if (words[0] === 'npm' && words[1] === 'ci') {
          need('package.json', part, line);
          need('package-lock.json', part, line);
        } else if (words[0] === 'npm' && words[1] === 'run') {
          need('package.json', part, line);
          const script = manifest.scripts?.[words[2]!];
          if (!script) problems.push(`line ${line}: ${part}: package.json has no such script`);
          else if (depth < 5) commands(script, line, depth + 1);
        } else if (words[0] === 'node') {
          const file = words.slice(1).find((w) => !w.startsWith('-'));
          if (file) need(file, part, line);
        } else if (words[0] === 'tsc' || (words[0] === 'npx' && words[1] === 'tsc')) {
          const at = words.indexOf('-p');
          const config = at >= 0 ? words[at + 1]! : 'tsconfig.json';
          // The config and what it extends; the nearest `include` in that chain is the one.
          let include: string[] | undefined;
          for (let file: string | undefined = config; file;) {
            need(file, part, line);
            const json = JSON.parse(readFileSync(path.join(context, file), 'utf8'));
            include ??= json.include;
            file = json.extends;
          }
          for (const input of include ?? []) {
            if (existsSync(path.join(context, input)) && !NOT_FOR_THE_IMAGE[input])
              need(input, `${part} (include of ${config})`, line);
          }
        }
        if (/\s\/|^\//.test(part) || /cache\s+clean/.test(part))
          problems.push(
            `line ${line}: ${part}: absolute paths and cache cleaning would act on the machine that runs the tests`,
          );
      }
    };
    for (const step of stage.steps) {
      if (step.kind === 'WORKDIR') workdir = path.posix.resolve(workdir, step.path);
      if (step.kind === 'RUN') commands(step.command, step.line);
      if (step.kind !== 'COPY') continue;
      const intoDir = step.dest.endsWith('/') || step.sources.length > 1;
      for (const source of step.sources) {
        const dest = path.posix.resolve(
          workdir,
          intoDir ? path.posix.join(step.dest, path.posix.basename(source)) : step.dest,
        );
        copied.add(dest);
        if (step.from !== undefined) continue;
        if (!existsSync(path.join(context, source))) {
          problems.push(`line ${step.line}: COPY ${source}: not in the repository`);
        } else if (filesUnder(context, source).every((f) => ignore.excludes(f))) {
          problems.push(`line ${step.line}: COPY ${source}: left out by .dockerignore`);
        }
      }
    }
  }

  const engines = /^>=\s*(\d+)/.exec(manifest.engines?.node ?? '');
  for (const stage of stages) {
    const match = /^node:(\d+)(?:[.-]|$)/.exec(stage.image);
    const major = Number(match?.[1]);
    if (!match) problems.push(`FROM ${stage.image}: not an official node image`);
    else if (major % 2 !== 0)
      problems.push(`FROM ${stage.image}: Node ${major} is not an LTS line`);
    else if (END_OF_LIFE_MAJORS.has(major))
      problems.push(`FROM ${stage.image}: Node ${major} is past its end of life`);
    else if (!engines || major < Number(engines[1]))
      problems.push(`FROM ${stage.image}: outside package.json engines ${manifest.engines?.node}`);
  }
  const final = stages.at(-1)!;
  if (!final.user || /^(root|0)(:|$)/.test(final.user))
    problems.push('the final stage runs as root (no USER, or USER root)');
  if (!final.healthcheck) problems.push('the final stage has no HEALTHCHECK');
  if (!final.cmd) problems.push('the final stage has no CMD');
  return problems;
}

describe('Dockerfile against the repository', () => {
  const stages = parseDockerfile(DOCKERFILE);
  const final = stages.at(-1)!;

  it('copies what its build steps need, on a Node LTS within engines, as non-root, with a healthcheck', () => {
    expect(dockerfileProblems(DOCKERFILE)).toEqual([]);
  });

  it('would be caught without the demo page script or on an old Node (the checks can fail)', () => {
    const withoutScripts = DOCKERFILE.replace(/^COPY scripts\/build-demo-page\.mjs.*$/m, '');
    expect(dockerfileProblems(withoutScripts)).toEqual([
      expect.stringMatching(
        /^line \d+: node scripts\/build-demo-page\.mjs needs scripts\/build-demo-page\.mjs, not copied before it$/,
      ),
    ]);
    const asRoot = DOCKERFILE.replace(/^USER .*$/m, '').replace(
      /node:24-alpine/g,
      'node:20-alpine',
    );
    expect(dockerfileProblems(asRoot)).toEqual(
      expect.arrayContaining([
        'FROM node:20-alpine: Node 20 is past its end of life',
        'the final stage runs as root (no USER, or USER root)',
      ]),
    );
  });

  it('checks liveness on the port the gateway listens on', () => {
    expect(final.healthcheck!.command).toMatch(/http:\/\/127\.0\.0\.1:\$\{PORT\}\/health["\s]/);
    expect(final.expose).toEqual([stageEnv(final).PORT]);
  });

  it('installs production dependencies only, with the Nest peers and the drivers the gateway runs on', () => {
    const production = Object.keys(gatewayManifest(PACKAGE).dependencies);
    expect(production).toEqual(
      expect.arrayContaining([
        '@nestjs/common',
        '@nestjs/core',
        '@nestjs/microservices',
        '@nestjs/platform-express',
        '@socket.io/redis-adapter',
        'kafkajs',
        'redis',
        'yaml',
      ]),
    );
    for (const tool of ['typescript', 'jest', 'esbuild', 'eslint', 'react', 'socket.io-client'])
      expect(production).not.toContain(tool);
  });
});

/** Bare specifiers the compiled JavaScript under `dir` imports (statically or with import()). */
function importedPackages(dir: string): Set<string> {
  const names = new Set<string>();
  for (const file of filesUnder(dir, '.').filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const [, specifier] of text.matchAll(
      /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm,
    )) {
      if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue;
      names.add(specifier!);
    }
  }
  return names;
}

describe('the image built in a scratch folder (its COPY and RUN steps, then its CMD)', () => {
  const stages = parseDockerfile(DOCKERFILE);
  const final = stages.at(-1)!;
  const kafka = new TestKafka();
  let scratch: string;
  let finalDir: string;

  beforeAll(async () => {
    // Resolution must not find packages above the scratch folder: only what the stage holds.
    for (let dir = os.tmpdir(); ; dir = path.dirname(dir)) {
      expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
      if (dir === path.dirname(dir)) break;
    }
    scratch = mkdtempSync(path.join(os.tmpdir(), 'gateway-image-'));
    const performed = await performStages(stages, REPO, scratch, {
      // The base image's environment: a PATH with node and npm, no NODE_ENV.
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // The tests reuse this machine's npm cache; the image's npm uses the registry alone.
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    });
    finalDir = performed.workdir(final);
  }, 600_000);

  afterAll(async () => {
    await kafka.stopStarted();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('ends with the gateway, its production dependencies and nothing else', () => {
    expect(readdirSync(finalDir).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    expect(readdirSync(path.join(finalDir, 'dist')).sort()).toEqual(['apps', 'libs']);
    expect(readdirSync(path.join(finalDir, 'dist/apps'))).toEqual(['gateway']);
    expect(readdirSync(path.join(finalDir, 'dist/libs'))).toEqual(['realtime']);
    const modules = path.join(finalDir, 'node_modules');
    for (const name of ['typescript', 'jest', 'esbuild', 'eslint', '@swc/core', 'playwright-core'])
      expect(existsSync(path.join(modules, name))).toBe(false);
    for (const name of ['kafkajs', 'redis', '@socket.io/redis-adapter', '@nestjs/microservices'])
      expect(existsSync(path.join(modules, name, 'package.json'))).toBe(true);
  });

  it('loads, from its own files alone, every package its compiled code imports', async () => {
    const packages = [...importedPackages(path.join(finalDir, 'dist'))].sort();
    expect(packages).toEqual(
      expect.arrayContaining([
        '@nestjs/microservices',
        '@socket.io/redis-adapter',
        'redis',
        'yaml',
      ]),
    );
    const result = await sh(
      `node --input-type=module -e 'for (const p of process.argv.slice(1)) await import(p)' ${packages.map((p) => `'${p}'`).join(' ')}`,
      finalDir,
      { PATH: process.env.PATH, HOME: scratch, ...stageEnv(final) },
    );
    expect(result).toEqual(expect.objectContaining({ code: 0 }));
  });

  it('starts with its CMD: /health answers, the HEALTHCHECK passes, Redis and Kafka get ready, a Kafka trade reaches a client', async () => {
    const brokers = await kafka.shared();
    await ensureTopics(brokers, DEFAULT_KAFKA_TOPICS);
    const redisServer = new RedisServer(await freePort());
    await redisServer.start();
    const port = String(await freePort());
    const [program, ...args] = final.cmd!;
    expect(program).toBe('node');
    const env = {
      PATH: process.env.PATH,
      HOME: scratch,
      ...stageEnv(final),
      PORT: port,
      // Loopback only on the test machine; the image binds 0.0.0.0.
      HOST: '127.0.0.1',
      REDIS_URL: redisServer.url,
      KAFKA_BROKERS: brokers,
      KAFKA_GROUP_ID: `image-test-${Date.now().toString(36)}`,
      DRAIN_TIMEOUT_MS: '500',
    };
    const gateway = spawn(process.execPath, args, { cwd: finalDir, env });
    let output = '';
    gateway.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    gateway.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    try {
      await until(
        async () => {
          if (gateway.exitCode !== null) throw new Error(`the gateway exited:\n${output}`);
          return (await fetch(`${url}/health`).catch(() => undefined))?.status === 200;
        },
        60_000,
        '/health',
      );
      expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok' });
      const health = await sh(final.healthcheck!.command, finalDir, env);
      expect(health).toEqual(expect.objectContaining({ code: 0 }));
      await until(
        async () => (await fetch(`${url}/health/ready`)).status === 200,
        90_000,
        'readiness with Redis and Kafka',
      );
      const { checks } = await (await fetch(`${url}/health/ready`)).json();
      expect(Object.keys(checks)).toEqual(expect.arrayContaining(['redis', 'kafka']));

      const socket = io(`${url}/ws`, { transports: ['websocket'], reconnection: false });
      const recorder = new Recorder(socket, ['trade']);
      await new Promise((resolve, reject) => {
        socket.once('connected', resolve);
        socket.once('connect_error', reject);
      });
      const symbol = `IMG${Date.now().toString(36).toUpperCase()}`;
      await command(socket, 'subscribe', { channel: 'trades', symbol });
      const producer = await connectedProducer(brokers);
      try {
        await producer.send({
          topic: DEFAULT_KAFKA_TOPICS[0]!,
          messages: [
            {
              key: symbol,
              value: JSON.stringify({ event: 'trade', data: { symbol, tradeId: 7 } }),
            },
          ],
        });
      } finally {
        await producer.disconnect();
      }
      const [trade] = await recorder.waitFor('trade', 1, 10_000);
      expect(trade.data).toEqual({ symbol, tradeId: 7 });
      socket.disconnect();
      expect(await stop(gateway)).toBe(0);
    } finally {
      gateway.kill('SIGKILL');
      await redisServer.stop();
    }
  }, 240_000);
});

function stop(child: ChildProcess): Promise<number | NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.kill('SIGTERM');
  });
}
