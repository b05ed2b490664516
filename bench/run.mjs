#!/usr/bin/env node
// The benchmark harness: `npm run bench` (full) or `npm run bench -- --quick`.
// Scenario `fanout`: N clients over S symbols; trades published at R events/s through each
// target's HTTP publish API; delivered messages/s, latency from publish timestamp to
// receipt, server CPU and RSS. Targets: the gateway (production build) and two baselines.
import { fork, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createServer } from 'node:net';

const quick = process.argv.includes('--quick');
const CLIENTS = quick ? 2000 : 10_000;
const SYMBOLS = 10;
// Full mode asks 60 x 1,000 = 60,000 messages a second: about what this 2-core machine sustains.
const RATE = quick ? 200 : 60;
const SECONDS = quick ? 10 : 30;
const PER_WORKER = 5000;
const KEY = 'bench-publish-key-0123456789';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function processStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuSeconds: ticks / 100, rssKb };
}

const TARGETS = {
  gateway: {
    command: ['dist/apps/gateway/src/main.js'],
    env: {
      PUBLISH_API_KEY: KEY,
      LOG_LEVEL: 'error',
      MAX_CONNECTIONS_PER_IP: '0',
      NEW_CONNECTIONS_PER_IP_PER_MINUTE: '0',
      TICKER_CONFLATION_MS: '0',
    },
    url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    protocol: 'socket.io',
  },
  naive: {
    command: ['dist/bench/servers/naive-gateway.js'],
    env: {},
    url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    protocol: 'socket.io',
  },
  'raw-ws': {
    command: ['bench/servers/raw-ws-server.mjs'],
    env: {},
    url: (port, symbol) => `ws://127.0.0.1:${port}/?symbol=${symbol}`,
    protocol: 'raw',
  },
};

async function fanout(name) {
  const target = TARGETS[name];
  const port = await freePort();
  const server = spawn(process.execPath, target.command, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...target.env },
    stdio: 'ignore',
  });
  const workers = [];
  try {
    await waitForPort(port);
    const idle = processStats(server.pid);
    const symbols = Array.from({ length: SYMBOLS }, (_, i) => `BENCH${i}`);
    const perSymbol = Math.ceil(CLIENTS / SYMBOLS);
    for (const [s, symbol] of symbols.entries()) {
      for (let made = 0; made < perSymbol; made += PER_WORKER) {
        const worker = fork(new URL('./load-worker.mjs', import.meta.url).pathname, [
          JSON.stringify({
            url: target.url(port, symbol),
            connections: Math.min(PER_WORKER, perSymbol - made),
            firstAddress: 2 + s,
            subscribe: { channel: 'trades', symbol },
            protocol: target.protocol,
          }),
        ]);
        await new Promise((resolve) => worker.once('message', resolve));
        workers.push(worker);
      }
    }
    const report = () =>
      Promise.all(
        workers.map(
          (w) =>
            new Promise((resolve) => {
              w.once('message', resolve);
              w.send('report');
            }),
        ),
      );
    let subscribed = 0;
    for (let tries = 0; ; tries++) {
      subscribed = (await report()).reduce((sum, r) => sum + r.open, 0);
      if (subscribed >= perSymbol * SYMBOLS) break;
      // Under a connection storm a few handshakes may still be failing: go on at 99.5%.
      if (tries > 300 && subscribed >= CLIENTS * 0.995) break;
      if (tries > 600)
        throw new Error(`${name}: only ${subscribed} of ${CLIENTS} clients subscribed`);
      await sleep(100);
    }
    await sleep(500);
    await report();
    const loaded = processStats(server.pid);
    const started = Date.now();
    let published = 0;
    while (Date.now() - started < SECONDS * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * RATE) - published;
      if (due > 0) {
        const batch = Array.from({ length: due }, (_, i) => ({
          event: 'trade',
          data: {
            symbol: symbols[(published + i) % SYMBOLS],
            tradeId: published + i,
            price: '100.5',
            quantity: '1',
            timestamp: Date.now(),
          },
        }));
        published += due;
        await fetch(`http://127.0.0.1:${port}/api/publish`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify(batch),
        });
      }
      await sleep(5);
    }
    const elapsed = (Date.now() - started) / 1000;
    const after = processStats(server.pid);
    await sleep(2000);
    const reports = await report();
    const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const at = (q) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null;
    const expected = (published * subscribed) / SYMBOLS;
    return {
      name: 'fanout',
      target: name,
      clients: subscribed,
      published_per_sec: Math.round(published / elapsed),
      delivered_per_sec: Math.round(latencies.length / elapsed),
      delivered_ratio: Number((latencies.length / expected).toFixed(4)),
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      p999_ms: at(0.999),
      rss_per_conn_kb: Number(((loaded.rssKb - idle.rssKb) / CLIENTS).toFixed(1)),
      cpu_pct: Math.round(((after.cpuSeconds - loaded.cpuSeconds) / elapsed) * 100),
    };
  } finally {
    for (const worker of workers) worker.send('stop');
    server.kill('SIGKILL');
    await sleep(500);
  }
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

const scenarios = [];
for (const target of ['gateway', 'naive', 'raw-ws']) {
  console.error(
    `fanout: ${target}, ${CLIENTS} clients, ${SYMBOLS} symbols, ${RATE} trades/s for ${SECONDS} s`,
  );
  scenarios.push(await fanout(target));
}
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
console.table(scenarios, [
  'name',
  'target',
  'clients',
  'delivered_per_sec',
  'delivered_ratio',
  'p50_ms',
  'p99_ms',
  'p999_ms',
  'rss_per_conn_kb',
  'cpu_pct',
]);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const json = JSON.stringify(result, null, 2) + '\n';
writeFileSync(new URL('./results/latest.json', import.meta.url), json);
writeFileSync(
  new URL(`./results/${result.date.slice(0, 19).replace(/:/g, '-')}.json`, import.meta.url),
  json,
);
process.exit(0);
