#!/usr/bin/env node
// What the cluster bus costs: the same burst of events published over HTTP to one instance
// without Redis, then to instance A of two instances on one Redis, received by a
// socket.io-client on A (local) and on B (through the bus). Run after `npm run build`:
//   node bench/cluster-bus-cost.mjs [events=20000] [batch=500]
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { io } from 'socket.io-client';

const EVENTS = Number(process.argv[2] ?? 20_000);
const BATCH = Number(process.argv[3] ?? 500);
const KEY = 'bench-publish-key-0123456789';

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function gateway(env) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/apps/gateway/src/main.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLISH_API_KEY: KEY,
      LOG_LEVEL: 'error',
      TICKER_CONFLATION_MS: '0',
      ...env,
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => (await fetch(`${url}/health/ready`).catch(() => ({ status: 0 }))).status === 200,
    'readiness',
  );
  return { url, stop: () => child.kill('SIGKILL') };
}

async function receiver(url, symbol) {
  const socket = io(`${url}/ws`, { transports: ['websocket'], reconnection: false });
  const latencies = [];
  socket.on('trade', ({ data }) => latencies.push(Date.now() - data.timestamp));
  await new Promise((resolve) => socket.once('connected', resolve));
  await socket.emitWithAck('subscribe', { channel: 'trades', symbol });
  return { socket, latencies };
}

async function run(publishUrl, receivers, symbol) {
  const started = Date.now();
  for (let sent = 0; sent < EVENTS; sent += BATCH) {
    const body = Array.from({ length: Math.min(BATCH, EVENTS - sent) }, (_, i) => ({
      event: 'trade',
      data: { symbol, tradeId: sent + i, price: '100.5', quantity: '1', timestamp: Date.now() },
    }));
    const response = await fetch(`${publishUrl}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 202) throw new Error(`publish answered ${response.status}`);
  }
  await waitFor(() => receivers.every((r) => r.latencies.length >= EVENTS), 'every event');
  const seconds = (Date.now() - started) / 1000;
  return receivers.map(({ latencies }) => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      events_per_sec: Math.round(EVENTS / seconds),
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      max_ms: sorted.at(-1),
    };
  });
}

const redisPort = await freePort();
const redis = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
const cleanup = [];
try {
  const alone = await gateway({});
  cleanup.push(alone.stop);
  const aloneClient = await receiver(alone.url, 'ALONE');
  const [single] = await run(alone.url, [aloneClient], 'ALONE');
  aloneClient.socket.disconnect();
  alone.stop();

  await sleep(300);
  const a = await gateway({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, INSTANCE_ID: 'a' });
  const b = await gateway({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, INSTANCE_ID: 'b' });
  cleanup.push(a.stop, b.stop);
  const onA = await receiver(a.url, 'BUS');
  const onB = await receiver(b.url, 'BUS');
  const [local, remote] = await run(a.url, [onA, onB], 'BUS');
  for (const r of [onA, onB]) r.socket.disconnect();
  console.log(
    `cluster bus cost, ${EVENTS} trade events in HTTP batches of ${BATCH}, node ${process.version}`,
  );
  console.table({
    'one instance, no Redis': single,
    'two instances: client on A (entry)': local,
    'two instances: client on B (via bus)': remote,
  });
} finally {
  for (const stop of cleanup) stop();
  redis.kill('SIGKILL');
}
process.exit(0);
