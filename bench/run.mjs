#!/usr/bin/env node
// The benchmark harness: `npm run bench` (full) or `npm run bench -- --quick`; `--only=a,b`
// runs some scenarios, `--targets=gateway,batched` some targets (in that order; the history
// and Redis variants only when named), `--set=rate=250` overrides settings. See
// bench/README.md for what each scenario measures.
import { fork, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { createClient } from 'redis';
import { startBroker, stopBroker } from '../scripts/kafka/kafka-broker.mjs';

const quick = process.argv.includes('--quick');
const onlyArgument = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArgument ? new Set(onlyArgument.slice(7).split(',')) : undefined;
// `--set=rate=250,seconds=20` overrides those numbers of every scenario run, to probe limits.
const setArgument = process.argv.find((a) => a.startsWith('--set='));
const overrides = Object.fromEntries(
  (setArgument?.slice(6).split(',') ?? []).map((pair) => {
    const [key, value] = pair.split('=');
    return [key, Number(value)];
  }),
);
// In the order given; a name given twice runs twice (`a,b,b,a` evens out drift).
const targetsArgument = process.argv.find((a) => a.startsWith('--targets='));
const chosenTargets = targetsArgument?.slice(10).split(',').filter(Boolean);
const PER_WORKER = 5000;
const MAX_REQUEST = 500;
const KEY = 'bench-publish-key-0123456789';
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef';
const KAFKA_PORT = 29392;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// Whatever ends this process, the servers and load workers it started end with it.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const socketIoUrl = (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
// The gateway's plain-WebSocket JSON face (docs/PROTOCOL.md; the gateway serves it by default).
const jsonUrl = (port) => `ws://127.0.0.1:${port}/ws/json`;
/** The two faces of one gateway process, for a scenario that opens both (`json-mixed`). */
const FACES = {
  'socket.io': { url: socketIoUrl, protocol: 'socket.io' },
  json: { url: jsonUrl, protocol: 'json' },
};
const GATEWAY = {
  command: ['dist/apps/gateway/src/main.js'],
  env: {
    PUBLISH_API_KEY: KEY,
    JWT_SECRET,
    LOG_LEVEL: 'error',
    MAX_CONNECTIONS_PER_IP: '0',
    MAX_CONNECTIONS_PER_USER: '0',
    NEW_CONNECTIONS_PER_IP_PER_MINUTE: '0',
    TICKER_CONFLATION_MS: '0',
  },
  url: socketIoUrl,
  protocol: 'socket.io',
};
const HISTORY_OFF = { ...GATEWAY.env, HISTORY: 'off' };
const TARGETS = {
  // History as the gateway ships it: private channels 1,000 / 5 min, trades 1,000 / 1 min.
  gateway: GATEWAY,
  'gateway-history-off': { ...GATEWAY, env: HISTORY_OFF },
  // One instance on a Redis this harness starts (positions, history and delivery through it).
  'gateway-redis': { ...GATEWAY, redis: true },
  'gateway-redis-history-off': { ...GATEWAY, env: HISTORY_OFF, redis: true },
  // The same gateway process, its clients on the plain-WebSocket JSON face (token in the query).
  'gateway-json': { ...GATEWAY, ...FACES.json },
  naive: {
    command: ['dist/bench/servers/naive-gateway.js'],
    env: { JWT_SECRET },
    url: socketIoUrl,
    protocol: 'socket.io',
  },
  'raw-ws': {
    command: ['bench/servers/raw-ws-server.mjs'],
    env: {},
    url: (port, symbol) => `ws://127.0.0.1:${port}/?symbol=${symbol}`,
    protocol: 'raw',
  },
  // Socket.IO alone, accepting every connection (no Nest, no token): the floor of the
  // gateway's connection rate.
  'bare-socket.io': {
    command: ['bench/servers/bare-socket-io-server.mjs'],
    env: {},
    url: socketIoUrl,
    protocol: 'socket.io',
  },
  // Accepts WebSockets and does nothing with them: the floor of memory per connection.
  'bare-ws': {
    command: ['bench/servers/bare-ws-server.mjs'],
    env: {},
    url: (port, symbol) => `ws://127.0.0.1:${port}/?symbol=${symbol}`,
    protocol: 'raw',
  },
};

/**
 * The history and Redis variants of the gateway, its JSON face and the bare Socket.IO floor:
 * run only when `--targets=` names them (the JSON scenarios run `gateway-json` by default).
 */
const VARIANTS = [
  'gateway-history-off',
  'gateway-redis',
  'gateway-redis-history-off',
  'gateway-json',
  'bare-socket.io',
];
// `mixed` (json-mixed only): the gateway with N Socket.IO and N JSON clients in one room.
const KNOWN_TARGETS = new Set([...Object.keys(TARGETS), 'batched', 'mixed']);
for (const name of chosenTargets ?? []) {
  if (!KNOWN_TARGETS.has(name))
    throw new Error(`--targets: no target ${name}; targets: ${[...KNOWN_TARGETS].join(', ')}`);
}

const cpuSecondsOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
};

/**
 * A Redis of this harness's own, on a free port, kept in memory only; started the first
 * time a target needs it and emptied (FLUSHDB: nothing else uses it) before each server.
 * Never the shared one on 6379.
 */
class BenchRedis {
  static instance;

  static async get() {
    BenchRedis.instance ??= BenchRedis.start();
    return BenchRedis.instance;
  }

  static async start() {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    children.add(child);
    let failed;
    child.once('error', (error) => (failed = error));
    const url = `redis://127.0.0.1:${port}`;
    const client = createClient({ url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    for (let i = 0; ; i++) {
      if (failed)
        throw new Error(`redis-server did not start: ${failed.message}`, { cause: failed });
      const connected = await client.connect().then(
        () => true,
        () => false,
      );
      if (connected) break;
      if (i === 50) throw new Error(`redis-server on ${port} does not answer`);
      await sleep(100);
    }
    return new BenchRedis(url, child, client);
  }

  constructor(url, child, client) {
    Object.assign(this, { url, child, client });
  }

  cpuSeconds() {
    return cpuSecondsOf(this.child.pid);
  }

  /** Empties this harness's own Redis, for a server that starts on it. */
  async flush() {
    await this.client.sendCommand(['FLUSHDB']);
  }

  async resetStats() {
    await this.client.sendCommand(['CONFIG', 'RESETSTAT']);
  }

  /** Calls and microseconds per command since the last reset, from INFO commandstats. */
  async commandStats() {
    const info = String(await this.client.sendCommand(['INFO', 'commandstats']));
    const stats = {};
    for (const [, command, calls, usec] of info.matchAll(
      /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm,
    ))
      stats[command] = { calls: Number(calls), usec: Number(usec) };
    return stats;
  }
}

/** A benchmarked server process; `memory()` asks it (after a GC) for its RSS and heap. */
class Server {
  static async start(name, env = {}) {
    const target = TARGETS[name];
    const port = await freePort();
    const redis = target.redis ? await BenchRedis.get() : undefined;
    if (redis) await redis.flush();
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        './bench/memory-probe.mjs',
        // For example BENCH_SERVER_FLAGS=--cpu-prof to profile the servers.
        ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
        ...target.command,
      ],
      {
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          ...target.env,
          ...(redis ? { REDIS_URL: redis.url, INSTANCE_ID: 'bench-0' } : {}),
          ...env,
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
    );
    children.add(child);
    const server = new Server(name, port, child, redis);
    await server.waitForHttp();
    // Connected to Redis before any client comes, or it would position messages alone.
    if (redis) await server.waitForHttp('/health/ready');
    return server;
  }

  constructor(name, port, child, redis) {
    Object.assign(this, { name, port, child, redis, target: TARGETS[name] });
  }

  memory() {
    return new Promise((resolve) => {
      this.child.once('message', resolve);
      this.child.send('memory');
    });
  }

  cpuSeconds() {
    return cpuSecondsOf(this.child.pid);
  }

  async waitForHttp(path = '/') {
    for (let i = 0; i < 300; i++) {
      const ok = await fetch(`http://127.0.0.1:${this.port}${path}`).then(
        (response) => path === '/' || response.ok,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`${this.name}: nothing answers on ${this.port}${path}`);
  }

  /** With `timeoutMs`, a request not answered in that time fails (the capacity curves). */
  async publish(events, timeoutMs) {
    const response = await fetch(`http://127.0.0.1:${this.port}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
      ...(timeoutMs ? { signal: globalThis.AbortSignal.timeout(timeoutMs) } : {}),
    });
    if (response.status !== 202)
      throw new Error(`${this.name}: publish answered ${response.status}`);
  }

  async stop() {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Load-generator processes; each `group` is a set of connections alike. */
class Load {
  workers = [];
  nextAddress = 2;

  /**
   * Starts connections in workers of at most PER_WORKER each; connection i subscribes with
   * `subscriptions[i % length]` (a symbol and the command to send).
   */
  async connect(server, { connections, subscriptions, users, batch, face = server.target }) {
    const targets = subscriptions.map(({ symbol, command }) => ({
      url: face.url(server.port, symbol),
      command,
    }));
    for (let made = 0; made < connections; made += PER_WORKER) {
      const count = Math.min(PER_WORKER, connections - made);
      const worker = fork(new URL('./load-worker.mjs', import.meta.url).pathname, [
        JSON.stringify({
          targets,
          connections: count,
          // Source addresses only past one address's ephemeral ports (see load-worker.mjs).
          ...(connections > 25_000 && { firstAddress: this.nextAddress++ }),
          protocol: face.protocol,
          batch,
          ...(users ? { jwtSecret: JWT_SECRET, firstUser: users + made } : {}),
        }),
      ]);
      children.add(worker);
      worker.once('exit', (code) => {
        if (code !== 0) throw new Error(`a load worker failed (exit ${code}); see above`);
      });
      await new Promise((resolve) => worker.once('message', resolve));
      worker.send('connect');
      this.workers.push(worker);
    }
  }

  report() {
    return Promise.all(
      this.workers.map(
        (worker) =>
          new Promise((resolve) => {
            worker.once('message', resolve);
            worker.send('report');
          }),
      ),
    );
  }

  /** Waits until `expected` connections are ready; returns how many and how long it took. */
  async ready(expected, label) {
    const started = Date.now();
    for (;;) {
      const ready = (await this.report()).reduce((sum, r) => sum + r.ready, 0);
      if (ready >= expected) return { ready, seconds: (Date.now() - started) / 1000 };
      const waited = Date.now() - started;
      // Under a connection storm a few handshakes may still be failing: go on at 99.5%.
      if (waited > 30_000 && ready >= expected * 0.995) return { ready, seconds: waited / 1000 };
      // At least 200 connections a second, and two minutes for any number.
      if (waited > Math.max(120_000, expected * 5))
        throw new Error(`${label}: only ${ready} of ${expected} ready`);
      await sleep(100);
    }
  }

  /** CPU seconds the load workers have used so far. */
  cpuSeconds() {
    return this.workers.reduce((sum, worker) => sum + cpuSecondsOf(worker.pid), 0);
  }

  stop() {
    for (const worker of this.workers) worker.send('stop');
  }
}

function percentiles(latencies) {
  latencies.sort((a, b) => a - b);
  const at = (q) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null;
  return { p50_ms: at(0.5), p99_ms: at(0.99), p999_ms: at(0.999) };
}

/**
 * Publishes `rate` events a second for `seconds` through `send`, in batches every 5 ms;
 * `make(n)` builds event n with `timestamp: now`. Returns how many and how long.
 */
async function publishFor(rate, seconds, make, send) {
  const started = Date.now();
  let published = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - published;
    if (due > 0) {
      // A target that fell behind gets what is due in requests of at most MAX_REQUEST events.
      const count = Math.min(due, MAX_REQUEST);
      const batch = Array.from({ length: count }, (_, i) => make(published + i));
      published += count;
      await send(batch);
      if (count < due) continue;
    }
    await sleep(5);
  }
  return { published, elapsed: (Date.now() - started) / 1000 };
}

/**
 * Opens the clients with `connect`, runs `publish` once they are ready, and measures
 * delivery, latency, CPU and memory.
 */
async function measureDelivery(
  server,
  load,
  { name, clients, expectedPerEvent, connect, publish },
) {
  const before = await server.memory();
  await connect();
  const { ready } = await load.ready(clients, `${name} ${server.name}`);
  await sleep(500);
  await load.report();
  const loaded = await server.memory();
  await server.redis?.resetStats();
  const cpuBefore = server.cpuSeconds();
  const redisCpuBefore = server.redis?.cpuSeconds();
  const { published, elapsed } = await publish();
  const cpu = server.cpuSeconds() - cpuBefore;
  const redisCpu = server.redis && server.redis.cpuSeconds() - redisCpuBefore;
  const commands = await server.redis?.commandStats();
  await sleep(2000);
  const reports = await load.report();
  const latencies = reports.flatMap((r) => r.latencies);
  const expected = published * expectedPerEvent(ready);
  const script = commands?.evalsha;
  // Per face (the workers' protocols), for a room both faces' clients share.
  const byFace = {};
  for (const report of reports) {
    const face = (byFace[report.protocol] ??= { clients: 0, latencies: [] });
    face.clients += report.ready;
    for (const latency of report.latencies) face.latencies.push(latency);
  }
  const by_face = Object.fromEntries(
    Object.entries(byFace).map(([face, { clients: faceClients, latencies: received }]) => [
      face,
      {
        clients: faceClients,
        delivered_per_sec: Math.round(received.length / elapsed),
        delivered_ratio: Number(
          (received.length / (published * expectedPerEvent(faceClients))).toFixed(4),
        ),
        // All the server's CPU, over this face's receipts only.
        cpu_ms_per_1k: received.length ? Number(((cpu * 1e6) / received.length).toFixed(2)) : null,
        ...percentiles(received),
      },
    ]),
  );
  return {
    name,
    target: server.name,
    clients: ready,
    published_per_sec: Math.round(published / elapsed),
    delivered_per_sec: Math.round(latencies.length / elapsed),
    delivered_ratio: Number((latencies.length / expected).toFixed(4)),
    misrouted: reports.reduce((sum, r) => sum + r.misrouted, 0),
    ...percentiles(latencies),
    // With few connections the difference is noise, not a figure per connection.
    rss_per_conn_kb:
      ready >= 1000 ? Number(((loaded.rss - before.rss) / 1024 / ready).toFixed(1)) : null,
    cpu_pct: Math.round((cpu / elapsed) * 100),
    // Server CPU per 1,000 messages received (while publishing; what was still queued after
    // it is counted too, so a target that falls behind looks cheaper than it is).
    cpu_ms_per_1k: latencies.length ? Number(((cpu * 1e6) / latencies.length).toFixed(2)) : null,
    cpu_seconds: Number(cpu.toFixed(2)),
    elapsed_seconds: elapsed,
    by_face,
    ...(redisCpu === undefined
      ? {}
      : {
          redis_cpu_pct: Math.round((redisCpu / elapsed) * 100),
          // The positioning script (EVALSHA): calls a second and Redis's time per call.
          script_calls_per_sec: script ? Math.round(script.calls / elapsed) : 0,
          script_us_per_call: script ? Number((script.usec / script.calls).toFixed(1)) : null,
          script_us_per_event: script ? Number((script.usec / published).toFixed(2)) : null,
          // Every command Redis ran while publishing (results file only): calls and usec.
          redis_commands: commands,
        }),
  };
}

async function withServer(name, env, run) {
  const server = await Server.start(name, env);
  const load = new Load();
  try {
    return await run(server, load);
  } finally {
    load.stop();
    await server.stop();
  }
}

const trade = (symbol, n) => ({
  event: 'trade',
  data: { symbol, tradeId: n, price: '100.5', quantity: '1', timestamp: Date.now() },
});

/**
 * `fanout`: N clients over S symbols; R trades a second through the HTTP publish API, in
 * bursts of B trades of one symbol (a sweep through the book). With `batch`, the clients ask
 * the gateway for batches.
 */
function fanout(name, { scenario, clients, symbols, rate, burst, seconds, batch = false }) {
  const symbolList = Array.from({ length: symbols }, (_, i) => `BENCH${i}`);
  const perSymbol = Math.ceil(clients / symbols);
  return withServer(name, {}, async (server, load) => ({
    ...(await measureDelivery(server, load, {
      name: scenario,
      clients: perSymbol * symbols,
      expectedPerEvent: (ready) => ready / symbols,
      connect: () => subscribeToTrades(server, load, symbolList, perSymbol, batch),
      publish: () =>
        publishFor(
          rate,
          seconds,
          (n) => trade(symbolList[Math.floor(n / burst) % symbols], n),
          (events) => server.publish(events),
        ),
    })),
    ...(batch ? { target: `${name} (batched)` } : {}),
  }));
}

function subscribeToTrades(server, load, symbols, perSymbol, batch) {
  return load.connect(server, {
    connections: perSymbol * symbols.length,
    subscriptions: symbols.map((symbol) => ({
      symbol,
      command: ['subscribe', { channel: 'trades', symbol }],
    })),
    batch,
  });
}

/** `private`: U signed-in users, one connection each on `user.orders`; R order events a second. */
function privateScenario(name, { users, rate, seconds }) {
  return withServer(name, {}, (server, load) =>
    measureDelivery(server, load, {
      name: 'private',
      clients: users,
      expectedPerEvent: () => 1,
      connect: () =>
        load.connect(server, {
          connections: users,
          subscriptions: [
            { symbol: 'none', command: ['subscribe.private', { channel: 'user.orders' }] },
          ],
          users: 1,
        }),
      publish: () =>
        publishFor(
          rate,
          seconds,
          (n) => ({
            event: 'order.created',
            data: { userId: `u${1 + ((n * 7919) % users)}`, orderId: n, timestamp: Date.now() },
          }),
          (events) => server.publish(events),
        ),
    }),
  );
}

/**
 * `idle`: N connections (signed in with a JWT where the target checks one), doing nothing;
 * the connection rate while they arrive and memory per connection after a GC. With
 * `instances` > 1, that many gateways share one Redis and the connections are spread evenly.
 */
async function idle(name, { clients, instances = 1, scenario = 'idle' }) {
  const servers = [];
  const load = new Load();
  try {
    for (let i = 0; i < instances; i++) {
      servers.push(
        await Server.start(name, instances > 1 ? { REDIS_URL, INSTANCE_ID: `bench-${i}` } : {}),
      );
    }
    const before = await Promise.all(servers.map((s) => s.memory()));
    const perServer = Math.ceil(clients / instances);
    const serverCpu = () => servers.reduce((sum, server) => sum + server.cpuSeconds(), 0);
    const cpuBefore = serverCpu();
    const started = Date.now();
    for (const [i, server] of servers.entries()) {
      await load.connect(server, {
        connections: perServer,
        subscriptions: [{ symbol: 'none' }],
        users: 1 + i * perServer,
      });
    }
    const { ready } = await load.ready(perServer * instances, `${scenario} ${name}`);
    const seconds = (Date.now() - started) / 1000;
    // What each handshake costs the server: the connect rate is bounded by the load workers
    // too, on the same cores, so the server's CPU per connection says what it could take.
    const connectCpu = serverCpu() - cpuBefore;
    const workersCpu = load.cpuSeconds();
    await sleep(1000);
    const after = await Promise.all(servers.map((s) => s.memory()));
    const sum = (list, key) => list.reduce((total, m) => total + m[key], 0);
    const perConnectionKb = (key) =>
      Number(((sum(after, key) - sum(before, key)) / 1024 / ready).toFixed(1));
    return {
      name: scenario,
      target: instances > 1 ? `${name} x${instances}` : name,
      clients: ready,
      connects_per_sec: Math.round(ready / seconds),
      cpu_ms_per_connect: Number(((connectCpu * 1000) / ready).toFixed(3)),
      cpu_pct: Math.round((connectCpu / seconds) * 100),
      load_cpu_pct: Math.round((workersCpu / seconds) * 100),
      rss_per_conn_kb: perConnectionKb('rss'),
      heap_per_conn_kb: perConnectionKb('heapUsed'),
    };
  } finally {
    load.stop();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/**
 * `kafka`: R events a second produced to a real broker; produce-to-receipt latency through
 * the gateway, and first the same through a bare kafkajs consumer here: the broker's share.
 */
async function kafkaScenario({ clients, symbols, rate, seconds }) {
  const broker = await startBroker({ port: KAFKA_PORT, log: () => undefined });
  const kafka = new Kafka({
    clientId: 'bench',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const topic = `bench.market-data.${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const symbolList = Array.from({ length: symbols }, (_, i) => `BENCH${i}`);
  const perSymbol = Math.ceil(clients / symbols);
  const produce = () =>
    publishFor(
      rate,
      seconds,
      (n) => {
        const event = trade(symbolList[n % symbols], n);
        return { key: event.data.symbol, value: JSON.stringify(event) };
      },
      (messages) => producer.send({ topic, messages }),
    );
  try {
    const consumer = kafka.consumer({ groupId: `${topic}.bare` });
    await consumer.connect();
    await consumer.subscribe({ topic });
    const latencies = [];
    let joined;
    const ready = new Promise((resolve) => (joined = resolve));
    consumer.on(consumer.events.FETCH, () => joined());
    await consumer.run({
      eachMessage: async ({ message }) => {
        latencies.push(Date.now() - JSON.parse(message.value.toString()).data.timestamp);
      },
    });
    await ready;
    const { published, elapsed } = await produce();
    await sleep(2000);
    await consumer.disconnect();
    const bare = {
      name: 'kafka',
      target: 'kafkajs, no gateway',
      clients: 0,
      published_per_sec: Math.round(published / elapsed),
      delivered_per_sec: Math.round(latencies.length / elapsed),
      delivered_ratio: Number((latencies.length / published).toFixed(4)),
      ...percentiles(latencies),
    };
    const throughGateway = await withServer(
      'gateway',
      { KAFKA_BROKERS: broker.bootstrap, KAFKA_TOPICS: topic, KAFKA_GROUP_ID: topic },
      async (server, load) => {
        await server.waitForHttp('/health/ready');
        return measureDelivery(server, load, {
          name: 'kafka',
          clients: perSymbol * symbols,
          expectedPerEvent: (ready) => ready / symbols,
          connect: () => subscribeToTrades(server, load, symbolList, perSymbol, false),
          publish: produce,
        });
      },
    );
    return [bare, throughGateway];
  } finally {
    await producer.disconnect();
    if (!broker.alreadyRunning) await stopBroker({ port: KAFKA_PORT, log: () => undefined });
  }
}

/**
 * `json-mixed`: one room (one symbol's `trades`) with N Socket.IO clients (`gateway`), N
 * Socket.IO and N JSON clients (`mixed`), or N JSON clients (`gateway-json`); R trades a
 * second. Each row also gives the server's CPU over the Socket.IO receipts alone
 * (`cpu_ms_per_1k_socketio`); see `withoutJsonShare` for what the JSON clients leave of it.
 */
function mixedRoom(target, { scenario, clients, rate, seconds }) {
  const symbol = 'BENCH0';
  const faces = { mixed: ['socket.io', 'json'], 'gateway-json': ['json'] }[target] ?? ['socket.io'];
  return withServer(target === 'mixed' ? 'gateway' : target, {}, async (server, load) => {
    const row = await measureDelivery(server, load, {
      name: scenario,
      clients: clients * faces.length,
      expectedPerEvent: (ready) => ready,
      connect: async () => {
        for (const face of faces) {
          await load.connect(server, {
            connections: clients,
            subscriptions: [{ symbol, command: ['subscribe', { channel: 'trades', symbol }] }],
            face: FACES[face],
          });
        }
      },
      publish: () =>
        publishFor(
          rate,
          seconds,
          (n) => trade(symbol, n),
          (events) => server.publish(events),
        ),
    });
    const { 'socket.io': socketIo, json } = row.by_face;
    return {
      ...row,
      target: target === 'mixed' ? 'gateway: Socket.IO + JSON' : server.name,
      socketio_clients: socketIo?.clients ?? 0,
      json_clients: json?.clients ?? 0,
      socketio_delivered_per_sec: socketIo?.delivered_per_sec ?? null,
      json_delivered_per_sec: json?.delivered_per_sec ?? null,
      socketio_p99_ms: socketIo?.p99_ms ?? null,
      cpu_ms_per_1k_socketio: socketIo?.cpu_ms_per_1k ?? null,
    };
  });
}

/**
 * The mixed rows' CPU less what the same JSON clients cost alone (the mean CPU a second of
 * the `gateway-json` rows), over the Socket.IO receipts: `cpu_ms_per_1k_socketio_net`, to set
 * beside the `gateway` rows' `cpu_ms_per_1k_socketio`. What the room's events cost once (the
 * publish requests, history, encoding) and what the process costs a second whatever it
 * delivers are taken off twice, so the net figure is a lower bound. A JSON face that made
 * Socket.IO's deliveries dearer would show as a net figure above the `gateway` rows'.
 */
function withoutJsonShare(rows) {
  const jsonOnly = rows.filter((row) => row.target === 'gateway-json');
  if (jsonOnly.length === 0) return rows;
  const jsonCpuPerSecond =
    jsonOnly.reduce((sum, row) => sum + row.cpu_seconds / row.elapsed_seconds, 0) / jsonOnly.length;
  for (const row of rows) {
    if (row.socketio_clients === 0 || row.json_clients === 0) continue;
    const net = row.cpu_seconds / row.elapsed_seconds - jsonCpuPerSecond;
    row.cpu_ms_per_1k_socketio_net = Number(
      ((net * 1e6) / row.socketio_delivered_per_sec).toFixed(2),
    );
  }
  return rows;
}

const BASELINES = ['gateway', 'naive', 'raw-ws'];

/**
 * `fanout-curve` / `fanout-burst-curve`: the `fanout` clients (N over S symbols on `trades`),
 * trades one by one or in sweeps of `burst`, on one target at a time, in steps of `seconds`
 * at rising rates: `start` trades a second, times `factor` after each step that passes (at
 * most `steps` of them), then at most `bisections` steps between the last pass and the first
 * fail (their geometric mean). A step passes when its p99 is at most `p99Ms`, at least
 * `minRatio` of the messages arrived within 2 s of its end and the target took in (answered
 * the publish requests of) at least 98 % of the offered trades. The clients stay connected
 * from one passing step to the next; after a fail the target starts afresh, and a failed
 * step is run `retries` more times (1 unless set) before its rate counts as failed. Once every
 * target has its curve, each runs one more step, from a fresh start, at the highest rate all
 * of them sustained: the CPU per 1,000 delivered at one rate for all.
 */
async function capacityCurves(settings) {
  const targets = [...BASELINES, 'batched', ...VARIANTS];
  const curves = await sequence(targets, (target) => capacityCurve(target, settings));
  const passed = curves.map((curve) => curve.sustained_trades_per_sec);
  const common = passed.every((rate) => rate !== null) ? Math.min(...passed) : null;
  for (const curve of curves) {
    if (common === null) break;
    const session = await CurveSession.open(curve.target_key, settings);
    try {
      curve.at_common = await session.step(common, 'common rate');
    } finally {
      await session.close();
    }
  }
  const rows = curves.map(({ target_key: _key, at_common, ...curve }) => ({
    name: settings.scenario,
    ...curve,
    // The step at the common rate, as the other scenarios' columns.
    ...(at_common
      ? {
          common_trades_per_sec: common,
          common_messages_per_sec: at_common.offered_messages_per_sec,
          common_passed: at_common.pass,
          delivered_per_sec: at_common.delivered_per_sec,
          delivered_ratio: at_common.delivered_ratio,
          p50_ms: at_common.p50_ms,
          p99_ms: at_common.p99_ms,
          p999_ms: at_common.p999_ms,
          cpu_pct: at_common.cpu_pct,
          cpu_ms_per_1k: at_common.cpu_ms_per_1k,
          at_common,
        }
      : { common_trades_per_sec: null }),
  }));
  const ratio = (a, b) => (a != null && b ? Number((a / b).toFixed(2)) : null);
  const gateway = rows.find((row) => row.target === 'gateway');
  for (const row of rows) {
    // The gateway's figures over this target's: capacity and CPU per 1,000 at the common rate.
    row.gateway_over_this = gateway && {
      sustained_messages_per_sec: ratio(
        gateway.sustained_messages_per_sec,
        row.sustained_messages_per_sec,
      ),
      cpu_ms_per_1k: ratio(gateway.cpu_ms_per_1k, row.cpu_ms_per_1k),
    };
  }
  return rows;
}

/** One target's server and connected clients for the capacity curves. */
class CurveSession {
  static async open(target, settings) {
    const { scenario, clients, symbols } = settings;
    const batch = target === 'batched';
    const server = await Server.start(batch ? 'gateway' : target);
    const load = new Load();
    const session = new CurveSession(server, load, { ...settings, batch });
    try {
      const perSymbol = Math.ceil(clients / symbols);
      await subscribeToTrades(server, load, session.symbolList, perSymbol, batch);
      session.ready = (await load.ready(perSymbol * symbols, `${scenario} ${target}`)).ready;
      await sleep(500);
      return session;
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  nextTrade = 0;

  constructor(server, load, settings) {
    Object.assign(this, { server, load, settings, scenario: settings.scenario });
    this.symbols = settings.symbols;
    this.symbolList = Array.from({ length: this.symbols }, (_, i) => `BENCH${i}`);
    this.label = settings.batch ? `${server.name} (batched)` : server.name;
  }

  /** One step at `rate` trades a second; `pass` by the limits of the settings. */
  async step(rate, why) {
    const { server, load, symbols, symbolList } = this;
    const { burst, seconds, p99Ms = 100, minRatio = 0.999 } = this.settings;
    await load.report(); // what arrived before this step does not count in it
    const first = this.nextTrade;
    let refused;
    const cpuBefore = server.cpuSeconds();
    // The load workers' and this process's CPU too: which of them ran out first.
    const loadCpuBefore = load.cpuSeconds();
    const harnessBefore = process.cpuUsage();
    const { published, elapsed } = await publishFor(
      rate,
      seconds,
      (n) => trade(symbolList[Math.floor((first + n) / burst) % symbols], first + n),
      async (events) => {
        if (refused) return;
        // A target that does not answer within 10 s has failed the step.
        await server.publish(events, 10_000).catch((error) => (refused = error.message));
      },
    );
    const cpu = server.cpuSeconds() - cpuBefore;
    const workersCpu = load.cpuSeconds() - loadCpuBefore;
    const harness = process.cpuUsage(harnessBefore);
    this.nextTrade += published;
    await sleep(2000);
    const latencies = (await load.report()).flatMap((r) => r.latencies);
    const expected = (published * this.ready) / symbols;
    const delivered_ratio = expected ? Number((latencies.length / expected).toFixed(4)) : 0;
    const { p50_ms, p99_ms, p999_ms } = percentiles(latencies);
    const published_per_sec = Math.round(published / elapsed);
    // What publishFor sent of what was due (rate x elapsed, rounded down, so 2 trades of slack):
    // below 1 when the target's answers held it back.
    const tookIn = published / Math.max(1, rate * elapsed - 2);
    const reasons = [
      refused && `publish failed: ${refused}`,
      tookIn < 0.98 && `took in ${published_per_sec}/s`,
      (p99_ms === null || p99_ms > p99Ms) && `p99 ${p99_ms} ms`,
      delivered_ratio < minRatio && `delivered ${delivered_ratio}`,
    ].filter(Boolean);
    const result = {
      trades_per_sec: rate,
      offered_messages_per_sec: Math.round((rate * this.ready) / symbols),
      published_per_sec,
      delivered_per_sec: Math.round(latencies.length / elapsed),
      delivered_ratio,
      p50_ms,
      p99_ms,
      p999_ms,
      cpu_pct: Math.round((cpu / elapsed) * 100),
      cpu_ms_per_1k: latencies.length ? Number(((cpu * 1e6) / latencies.length).toFixed(2)) : null,
      load_cpu_pct: Math.round((workersCpu / elapsed) * 100),
      harness_cpu_pct: Math.round(((harness.user + harness.system) / 1e6 / elapsed) * 100),
      pass: reasons.length === 0,
      overloaded: Boolean(refused) || tookIn < 0.98 || delivered_ratio < 0.99,
      ...(reasons.length ? { fail: reasons.join(', ') } : {}),
    };
    console.error(
      `  ${this.scenario} ${this.label} ${why}: ${rate} trades/s (${result.offered_messages_per_sec} messages/s): ` +
        `delivered ${delivered_ratio}, p99 ${p99_ms} ms, CPU ${result.cpu_pct} % ` +
        `(load ${result.load_cpu_pct} %, harness ${result.harness_cpu_pct} %), ` +
        `${result.cpu_ms_per_1k} ms/1k: ${result.pass ? 'pass' : `FAIL (${result.fail})`}`,
    );
    return result;
  }

  async close() {
    this.load.stop();
    await this.server.stop();
  }
}

/** One target's curve: geometric steps up to the first fail, then bisection (all bounded). */
async function capacityCurve(target, settings) {
  const { start, factor, steps: maxSteps, bisections, retries = 1 } = settings;
  const started = Date.now();
  const steps = [];
  let lastPass = null;
  let firstFail = null;
  let session = await CurveSession.open(target, settings);
  const label = session.label;
  const clients = session.ready;
  const run = async (rate, why) => {
    // A failed step is run again (`retries` times) before the rate counts as failed: on a
    // shared machine one stall of another process can push a step's p99 over the limit.
    for (let attempt = 0; ; attempt++) {
      // A step after a fail starts on a fresh target: a backlog would weigh on it.
      session ??= await CurveSession.open(target, settings);
      const step = await session.step(rate, attempt ? `${why}, again` : why);
      steps.push(step);
      if (step.pass) {
        lastPass = Math.max(lastPass ?? 0, rate);
        return true;
      }
      await session.close();
      session = undefined;
      // A step that lost 1 % or could not take the trades in is plainly over capacity.
      if (attempt >= retries || step.overloaded) {
        firstFail = Math.min(firstFail ?? Infinity, rate);
        return false;
      }
    }
  };
  try {
    // Up by `factor` until a fail; when the first rate fails already, down by it until a pass.
    let rate = start;
    for (let i = 0; i < maxSteps; i++) {
      const pass = await run(rate, `step ${i + 1}`);
      if (pass && firstFail !== null) break;
      if (!pass && lastPass !== null) break;
      rate = Math.max(1, Math.round(pass ? rate * factor : rate / factor));
      if (!pass && rate === 1 && steps.some((s) => s.trades_per_sec === 1)) break;
    }
    for (let i = 0; i < bisections && lastPass !== null && firstFail !== null; i++) {
      const middle = Math.round(Math.sqrt(lastPass * firstFail));
      if (middle <= lastPass || middle >= firstFail) break;
      await run(middle, `bisection ${i + 1}`);
    }
  } finally {
    await session?.close();
  }
  const perSymbol = clients / settings.symbols;
  const failed = steps.filter((s) => s.trades_per_sec === firstFail);
  return {
    target: label,
    target_key: target,
    clients,
    sustained_trades_per_sec: lastPass,
    sustained_messages_per_sec: lastPass === null ? null : Math.round(lastPass * perSymbol),
    // null: no step failed (the steps ran out), so the sustained rate is a lower bound.
    first_fail_trades_per_sec: firstFail,
    first_fail_reason: failed.map((s) => s.fail).join('; ') || null,
    p99_limit_ms: settings.p99Ms ?? 100,
    min_delivered_ratio: settings.minRatio ?? 0.999,
    curve_seconds: Math.round((Date.now() - started) / 1000),
    steps,
  };
}

const fanoutRows = (settings) =>
  sequence([...BASELINES, 'batched', ...VARIANTS], (target) =>
    target === 'batched'
      ? fanout('gateway', { ...settings, batch: true })
      : fanout(target, settings),
  );
const plan = [
  [
    'fanout',
    quick
      ? { clients: 2000, symbols: 10, rate: 200, burst: 1, seconds: 10 }
      : // 60 x 1,000 = 60,000 messages a second: about what this 2-core machine sustains.
        { clients: 10_000, symbols: 10, rate: 60, burst: 1, seconds: 30 },
    fanoutRows,
  ],
  [
    'fanout-burst',
    // Sweeps of 10 trades: 2.5 times (quick: 2 times) what the machine sends one by one.
    quick
      ? { clients: 2000, symbols: 10, rate: 400, burst: 10, seconds: 10 }
      : { clients: 10_000, symbols: 10, rate: 150, burst: 10, seconds: 30 },
    fanoutRows,
  ],
  [
    'idle',
    { clients: quick ? 2000 : 10_000 },
    (settings) => sequence([...BASELINES, ...VARIANTS], (target) => idle(target, settings)),
  ],
  [
    'private',
    quick ? { users: 1000, rate: 2000, seconds: 10 } : { users: 10_000, rate: 5000, seconds: 30 },
    (settings) =>
      sequence([...BASELINES, ...VARIANTS], (target) => privateScenario(target, settings)),
  ],
  ['kafka', { clients: 100, symbols: 50, rate: 5000, seconds: quick ? 10 : 30 }, kafkaScenario],
  // The plain-WebSocket JSON face beside Socket.IO and a bare `ws` server: 5,000 idle
  // connections (one load worker), memory per connection after a GC.
  [
    'json-idle',
    { clients: 5000 },
    (settings) => {
      const targets = ['bare-ws', 'gateway-json', 'gateway'];
      return sequence(targets, (target) => idle(target, settings), targets);
    },
  ],
  // One room of N JSON clients (the same over Socket.IO, and raw-ws, beside it): CPU per receipt.
  [
    'json-fanout',
    { clients: 2000, symbols: 1, rate: 20, burst: 1, seconds: quick ? 10 : 30 },
    (settings) => {
      const targets = ['gateway-json', 'gateway', 'raw-ws'];
      return sequence(targets, (target) => fanout(target, settings), targets);
    },
  ],
  // One room of N Socket.IO clients, with and without N JSON clients beside them.
  [
    'json-mixed',
    { clients: 2000, rate: 10, seconds: quick ? 10 : 30 },
    async (settings) => {
      const targets = ['gateway', 'mixed', 'gateway-json'];
      return withoutJsonShare(
        await sequence(targets, (target) => mixedRoom(target, settings), targets),
      );
    },
  ],
  // Capacity curves (see capacityCurves): run only when `--only=` names them. Rates are
  // trades a second, each to clients / symbols connections.
  ...['fanout-curve', 'fanout-burst-curve'].map((name) => [
    name,
    only?.has(name)
      ? {
          clients: quick ? 2000 : 10_000,
          symbols: 10,
          burst: name === 'fanout-curve' ? 1 : 10,
          // quick: 10,000 or 20,000 messages a second to begin with; full: the same.
          start: (quick ? 50 : 10) * (name === 'fanout-curve' ? 1 : 2),
          factor: 2,
          steps: 8,
          bisections: 3,
          seconds: quick ? 10 : 15,
        }
      : undefined,
    capacityCurves,
  ]),
  [
    'capacity',
    quick ? undefined : { clients: 19_000, manyClients: 64_000 },
    async ({ clients, manyClients }) => [
      await idle('gateway', { clients, scenario: 'capacity' }),
      await idle('gateway', { clients: manyClients, instances: 4, scenario: 'capacity' }),
    ],
  ],
];

/**
 * Runs each target in turn: those `--targets=` chose that the scenario has, in the order
 * given, or else `defaults` (the scenario's own but the history, Redis and JSON variants).
 */
async function sequence(
  targets,
  run,
  defaults = targets.filter((target) => !VARIANTS.includes(target)),
) {
  const results = [];
  const chosen = chosenTargets
    ? chosenTargets.filter((target) => targets.includes(target))
    : defaults;
  for (const target of chosen) results.push(await run(target));
  return results;
}

const scenarios = [];
const result = {
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gb: Math.round(totalmem() / 2 ** 30),
  },
  node: process.version,
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  scenarios,
};
const dated = new URL(
  `./results/${result.date.slice(0, 19).replace(/:/g, '-')}.json`,
  import.meta.url,
);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
for (const [name, settings, run] of plan) {
  if (!settings || (only && !only.has(name))) continue;
  const chosen = { ...settings, ...overrides };
  console.error(`${name}: ${JSON.stringify(chosen)}`);
  scenarios.push(...(await run({ scenario: name, ...chosen })));
  // Written after every scenario, so a failure later keeps what was measured.
  const json = JSON.stringify(result, null, 2) + '\n';
  writeFileSync(new URL('./results/latest.json', import.meta.url), json);
  writeFileSync(dated, json);
}
console.table(scenarios, [
  'name',
  'target',
  'clients',
  'delivered_per_sec',
  'delivered_ratio',
  'misrouted',
  'p50_ms',
  'p99_ms',
  'p999_ms',
  'connects_per_sec',
  'cpu_ms_per_connect',
  'rss_per_conn_kb',
  'heap_per_conn_kb',
  'cpu_pct',
  'cpu_ms_per_1k',
]);
const mixed = scenarios.filter((row) => row.cpu_ms_per_1k_socketio !== undefined);
if (mixed.length > 0) {
  console.table(mixed, [
    'name',
    'target',
    'socketio_clients',
    'json_clients',
    'socketio_delivered_per_sec',
    'json_delivered_per_sec',
    'socketio_p99_ms',
    'cpu_pct',
    'cpu_ms_per_1k',
    'cpu_ms_per_1k_socketio',
    'cpu_ms_per_1k_socketio_net',
  ]);
}
const curves = scenarios.filter((row) => row.steps !== undefined);
if (curves.length > 0) {
  console.table(curves, [
    'name',
    'target',
    'clients',
    'sustained_trades_per_sec',
    'sustained_messages_per_sec',
    'first_fail_trades_per_sec',
    'first_fail_reason',
    'common_messages_per_sec',
    'cpu_ms_per_1k',
    'curve_seconds',
  ]);
  for (const name of new Set(curves.map((row) => row.name))) {
    const rowOf = (target) => curves.find((row) => row.name === name && row.target === target);
    for (const other of ['raw-ws', 'naive']) {
      const ratios = rowOf(other)?.gateway_over_this;
      if (!ratios) continue;
      const unbounded = ['gateway', other].filter(
        (target) => rowOf(target).first_fail_trades_per_sec === null,
      );
      console.log(
        `${name}: gateway/${other}: highest sustained ${ratios.sustained_messages_per_sec}` +
          (unbounded.length ? ` (${unbounded.join(' and ')} never failed: a bound)` : '') +
          `, CPU per 1,000 delivered at the common rate ${ratios.cpu_ms_per_1k}`,
      );
    }
  }
}
const onRedis = scenarios.filter((row) => row.redis_cpu_pct !== undefined);
if (onRedis.length > 0) {
  console.table(onRedis, [
    'name',
    'target',
    'cpu_pct',
    'redis_cpu_pct',
    'script_calls_per_sec',
    'script_us_per_call',
    'script_us_per_event',
  ]);
}
process.exit(0);
