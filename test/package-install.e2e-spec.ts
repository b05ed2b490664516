import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { io } from 'socket.io-client';
import { Recorder, command, until } from './support/gateway-harness.js';
import { freePort } from './support/processes.js';

/**
 * The package as a host app gets it: `npm pack` of the built package, installed into a scratch
 * host app with only the packages such a host installs (Nest at another minor than this
 * repository's, to show it is not duplicated), then compiled with tsc against the package's
 * types, started, and reached by a real socket.io client; the client SDK and its React
 * hooks type-check and bundle for a browser from the installed package.
 */
const REPO = process.cwd();
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');

/** What a host app serving the module installs beside the package. */
const HOST_SERVER = [
  // Another minor than this repository's 12.5: the package must take the host's copy.
  '@nestjs/common@12.4.2',
  '@nestjs/core@12.4.2',
  '@nestjs/platform-express@12.4.2',
  '@nestjs/websockets@^12',
  '@nestjs/platform-socket.io@^12',
  '@nestjs/event-emitter@^12',
  '@nestjs/jwt@^12',
  'reflect-metadata@^0.2',
  'rxjs@^7',
  'class-validator@^0.15',
];
/** What a front end using the client SDK and its hooks adds. */
const HOST_FRONT_END = [
  'socket.io-client@^4.8',
  'react@^19',
  'react-dom@^19',
  '@types/react@^19',
  '@types/react-dom@^19',
];

/** The drivers a host that uses none of them must never get. */
const NOT_INSTALLED = [
  'kafkajs',
  'redis',
  '@redis/client',
  '@nestjs/microservices',
  '@socket.io/redis-adapter',
  '@nestjs/terminus',
  'yaml',
];

const HOST_FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'host-app', private: true, type: 'module' }, null, 2),
  'tsconfig.json': JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        // The package's own declarations are checked too: a type it names from a package the
        // host does not have is an error here, not a silent `any`.
        skipLibCheck: false,
        jsx: 'react-jsx',
        types: ['node'],
        rootDir: '.',
        outDir: 'out',
      },
      include: ['src', 'web'],
    },
    null,
    2,
  ),
  'src/main.ts': `import 'reflect-metadata';
import { Body, Controller, Get, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import {
  RealtimeEvent,
  RealtimeIoAdapter,
  RealtimeMetrics,
  RealtimeModule,
  RedisIoAdapter,
  symbolEvent,
} from 'exchange-realtime-gateway';

export const fundingRate = symbolEvent('funding.rate', { channel: 'funding' });

@Controller()
class FillsController {
  constructor(
    @Inject(EventEmitter2) private readonly events: EventEmitter2,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
  ) {}

  @Post('fills')
  fill(@Body() fill: { symbol: string; id: number }): { ok: true } {
    this.events.emit(RealtimeEvent.Trade, {
      symbol: fill.symbol,
      tradeId: fill.id,
      price: '65000.5',
      quantity: '0.01',
      side: 'buy',
      timestamp: Date.now(),
    });
    this.events.emit(fundingRate.event, { symbol: fill.symbol });
    return { ok: true };
  }

  @Get('metrics')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@Module({
  imports: [
    EventEmitterModule.forRoot(),
    RealtimeModule.forRoot({ namespace: '/ws', events: [fundingRate] }),
  ],
  controllers: [FillsController],
})
class AppModule {}

// @ts-expect-error the module's options are typed: a namespace is a string
RealtimeModule.forRoot({ namespace: 42 });

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
if (process.env.REDIS_URL) {
  // Without redis installed this must fail with a line saying what to install.
  const adapter = new RedisIoAdapter(app);
  await adapter.connect({ url: process.env.REDIS_URL });
  app.useWebSocketAdapter(adapter);
} else {
  app.useWebSocketAdapter(new RealtimeIoAdapter(app));
}
await app.listen(Number(process.env.PORT), '127.0.0.1');
console.log('host listening on ' + (await app.getUrl()));
`,
  'src/client-check.ts': `import { RealtimeClient } from 'exchange-realtime-gateway/client';

// The SDK from Node: subscribe, have the host emit a fill, print the trade it delivers.
const url = process.argv[2]!;
const symbol = 'PKGSDK';
const client = new RealtimeClient({ url });
const trade = new Promise<{ price?: string; tradeId?: string | number }>((resolve) =>
  client.on('trade', (envelope) => {
    const price: string | undefined = envelope.data.price;
    // @ts-expect-error a trade's price is a decimal string, typed from the catalogue
    const wrong: number | undefined = envelope.data.price;
    void wrong;
    resolve({ price, tradeId: envelope.data.tradeId });
  }),
);
await client.subscribe({ channel: 'trades', symbol });
await fetch(url + '/fills', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ symbol, id: 11 }),
});
console.log(JSON.stringify(await trade));
client.close();
`,
  'web/page.tsx': `import { createRoot } from 'react-dom/client';
import { RealtimeClient } from 'exchange-realtime-gateway/client';
import { RealtimeProvider, useChannel, useRealtime } from 'exchange-realtime-gateway/client/react';

function Trades({ symbol }: { symbol: string }) {
  const { state } = useRealtime();
  const trades = useChannel({ channel: 'trades', symbol }, 'trade', 20);
  return (
    <section>
      <p id="state">{state}</p>
      <ul>
        {trades.map((trade) => (
          <li key={trade.data.tradeId}>{trade.data.price}</li>
        ))}
      </ul>
    </section>
  );
}

const client = new RealtimeClient({ url: location.origin });
createRoot(document.getElementById('root')!).render(
  <RealtimeProvider client={client}>
    <Trades symbol="BTCUSDT" />
  </RealtimeProvider>,
);
`,
};

interface Result {
  code: number | null;
  output: string;
}

function run(
  program: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      cwd,
      // No npm_* variables of the `npm test` that runs this, no NODE_ENV=test.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        npm_config_update_notifier: 'false',
        ...env,
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

async function ok(promise: Promise<Result>, what: string): Promise<string> {
  const { code, output } = await promise;
  if (code !== 0) throw new Error(`${what} exited with ${code}:\n${output.slice(-6000)}`);
  return output;
}

const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** Every installed copy of `name` under `modules`, nested ones included. */
function copiesOf(modules: string, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (existsSync(path.join(dir, name, 'package.json'))) found.push(path.join(dir, name));
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '.bin') continue;
      const scoped = entry.name.startsWith('@')
        ? readdirSync(path.join(dir, entry.name)).map((n) => path.join(dir, entry.name, n))
        : [path.join(dir, entry.name)];
      for (const pkg of scoped) {
        const nested = path.join(pkg, 'node_modules');
        if (existsSync(nested)) walk(nested);
      }
    }
  };
  walk(modules);
  return found;
}

async function kilobytes(dir: string): Promise<number> {
  const output = await ok(run('du', ['-sk', dir], dir), 'du');
  return Number(output.split(/\s/)[0]);
}

function startHost(
  hostDir: string,
  env: Record<string, string>,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['out/src/main.js'], {
    cwd: hostDir,
    env: { PATH: process.env.PATH, HOME: hostDir, ...env },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe('the packed package installed into a host app', () => {
  let scratch: string;
  let hostDir: string;
  let modules: string;
  const sizes: Record<string, number> = {};

  beforeAll(async () => {
    expect(existsSync(path.join(REPO, 'dist/libs/realtime/src/index.js'))).toBe(true);
    expect(existsSync(path.join(REPO, 'dist/libs/client/src/index.js'))).toBe(true);
    scratch = mkdtempSync(path.join(os.tmpdir(), 'package-install-'));
    // The built package as published (its prepack build already ran: dist is up to date).
    const packed = await ok(
      run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], REPO),
      'npm pack',
    );
    const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('[')));
    hostDir = path.join(scratch, 'host');
    for (const [file, text] of Object.entries(HOST_FILES)) {
      mkdirSync(path.dirname(path.join(hostDir, file)), { recursive: true });
      writeFileSync(path.join(hostDir, file), text + '\n');
    }
    await ok(
      run('npm', [...NPM_INSTALL, path.join(scratch, filename), ...HOST_SERVER], hostDir),
      'npm install (server host)',
    );
    modules = path.join(hostDir, 'node_modules');
    sizes.serverHostKb = await kilobytes(modules);
  }, 300_000);

  afterAll(() => {
    if (Object.keys(sizes).length > 0) {
      mkdirSync(path.join(REPO, 'test-output'), { recursive: true });
      writeFileSync(
        path.join(REPO, 'test-output/package-install-sizes.json'),
        JSON.stringify(sizes, null, 2) + '\n',
      );
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('gives a host that uses no driver none of them, and one copy of each Nest package', () => {
    for (const name of NOT_INSTALLED) expect(copiesOf(modules, name)).toEqual([]);
    for (const name of [
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/websockets',
      '@nestjs/platform-socket.io',
      // Its Adapter class is compared by identity: the package must share socket.io's copy.
      'socket.io-adapter',
      'socket.io',
    ]) {
      expect(copiesOf(modules, name)).toEqual([path.join(modules, name)]);
    }
    // Nest is the host's 12.4, not this repository's 12.5.
    expect(copiesOf(path.join(modules, 'exchange-realtime-gateway'), '@nestjs/common')).toEqual([]);
  });

  describe('with the front end packages added', () => {
    let host: ReturnType<typeof startHost> | undefined;
    let url: string;

    beforeAll(async () => {
      await ok(run('npm', [...NPM_INSTALL, ...HOST_FRONT_END], hostDir), 'npm install (front end)');
      sizes.withFrontEndKb = await kilobytes(modules);
      await ok(run(process.execPath, [TSC, '-p', 'tsconfig.json'], hostDir), 'tsc in the host');
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      host = startHost(hostDir, { PORT: String(port) });
      await until(
        () => {
          if (host!.child.exitCode !== null)
            throw new Error(`the host app exited:\n${host!.output()}`);
          return /host listening on/.test(host!.output());
        },
        60_000,
        'the host app to listen',
      );
    }, 300_000);

    afterAll(async () => {
      const child = host?.child;
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('compiles against the package types (tsc above), starts, and delivers emitted events to a socket.io client', async () => {
      const socket = io(`${url}/ws`, { transports: ['websocket'], reconnection: false });
      try {
        const recorder = new Recorder(socket, ['trade', 'funding.rate']);
        await new Promise((resolve, reject) => {
          socket.once('connected', resolve);
          socket.once('connect_error', reject);
        });
        await command(socket, 'subscribe', { channel: 'trades', symbol: 'PKGHOST' });
        await command(socket, 'subscribe', { channel: 'funding', symbol: 'PKGHOST' });
        const response = await fetch(`${url}/fills`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ symbol: 'PKGHOST', id: 5 }),
        });
        expect(response.status).toBe(201);
        const [trade] = await recorder.waitFor('trade', 1, 5000);
        expect(trade.data).toEqual(
          expect.objectContaining({ symbol: 'PKGHOST', tradeId: 5, price: '65000.5' }),
        );
        const [funding] = await recorder.waitFor('funding.rate', 1, 5000);
        expect(funding.data).toEqual({ symbol: 'PKGHOST' });
        expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^realtime_/m);
      } finally {
        socket.disconnect();
      }
    });

    it('runs the client SDK from exchange-realtime-gateway/client in Node', async () => {
      const output = await ok(
        run(process.execPath, ['out/src/client-check.js', url], hostDir),
        'the SDK check',
      );
      expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual({
        price: '65000.5',
        tradeId: 11,
      });
    });

    it('bundles a page using the client and its React hooks for a browser, from the installed package only', async () => {
      const result = await build({
        absWorkingDir: hostDir,
        entryPoints: ['web/page.tsx'],
        outfile: path.join(hostDir, 'web-dist/page.js'),
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: ['es2022'],
        jsx: 'automatic',
        minify: true,
        metafile: true,
        define: { 'process.env.NODE_ENV': '"production"' },
        logLevel: 'silent',
      });
      expect(result.errors).toEqual([]);
      const inputs = Object.keys(result.metafile.inputs);
      // Nothing from outside the host app (this repository's sources or node_modules).
      expect(inputs.filter((i) => i.startsWith('..') || path.isAbsolute(i))).toEqual([]);
      expect(inputs).toEqual(
        expect.arrayContaining([
          'node_modules/exchange-realtime-gateway/dist/libs/client/src/index.js',
          'node_modules/exchange-realtime-gateway/dist/libs/client/src/react/index.js',
        ]),
      );
      expect(inputs.some((i) => i.startsWith('node_modules/socket.io-client/'))).toBe(true);
      // The server side stays out of the browser bundle.
      const serverSide = inputs.filter((i) =>
        /^node_modules\/(@nestjs|socket\.io\/|prom-client|class-validator|rate-limiter-flexible|rxjs)/.test(
          i,
        ),
      );
      expect(serverSide).toEqual([]);
    });

    it('tells a host that asks for Redis without installing it what to install', async () => {
      const port = await freePort();
      const attempt = startHost(hostDir, {
        PORT: String(port),
        REDIS_URL: 'redis://127.0.0.1:1',
      });
      const code = await new Promise((resolve) => attempt.child.once('exit', resolve));
      expect(code).not.toBe(0);
      expect(attempt.output()).toContain(
        'redis is not installed: npm install redis @socket.io/redis-adapter',
      );
    });
  });
});
