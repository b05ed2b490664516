#!/usr/bin/env node
// What the clustered path costs since stream positions (issue 15): every message goes through
// Redis (one Lua script per event-loop turn positions the turn's messages, keeps their
// history, and PUBLISHes them to every instance, this one too). A burst of N events, history
// on and off, measured two ways, each on a Redis of its own (never the shared one):
//   1. RedisRoomStreams alone (from dist), in this process: one room (one symbol's trades),
//      then one room per message (private orders of 1,000 users);
//   2. through the built gateway's publish API (HTTP batches), one instance without Redis and
//      one with it, to a socket.io-client on `trades`; then two instances, the client on the
//      one that did not take the events in.
// CPU is per 1,000 messages: this process's or the gateway's, and Redis's (its process, and
// the script's own time from INFO commandstats). Run after `npm run build`:
//   node bench/cluster-bus-cost.mjs [events=20000] [batch=500]
import { createClient } from 'redis';
import { io } from 'socket.io-client';
import { ownCpuSeconds, startGateway, startRedis, turn, waitFor } from './bench-support.mjs';
import { RealtimeCatalogue } from '../dist/libs/realtime/src/events/realtime-catalogue.js';
import { eventRoom } from '../dist/libs/realtime/src/events/rooms.js';
import { RedisRoomStreams } from '../dist/libs/realtime/src/recovery/redis-room-streams.js';

const EVENTS = Number(process.argv[2] ?? 20_000);
const BATCH = Number(process.argv[3] ?? 500);
const KEY = 'bench-publish-key-0123456789';
const USERS = 1000;
// The gateway's defaults: trades 1,000 messages / 1 minute, private channels 1,000 / 5 minutes.
const HISTORY = {
  trades: { size: 1000, ageMs: 60_000 },
  private: { size: 1000, ageMs: 5 * 60_000 },
  off: { size: 0, ageMs: 0 },
};

function percentiles(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50_ms: at(0.5), p99_ms: at(0.99), max_ms: sorted.at(-1) };
}

/** A Redis of this script's own, in memory only: `reset()` empties it (nothing else uses it). */
/** Columns every row shares: throughput, latency, CPU per 1,000 messages, the script's time. */
function row({ seconds, latencies, cpu, redisCpu, script, extra = {} }) {
  const perThousand = (value) => Number(((value * 1e6) / EVENTS).toFixed(2));
  return {
    events_per_sec: Math.round(EVENTS / seconds),
    ...percentiles(latencies),
    cpu_ms_per_1k: perThousand(cpu),
    redis_cpu_ms_per_1k: redisCpu === undefined ? '' : perThousand(redisCpu),
    script_calls: script ? script.calls : '',
    script_us_per_event: script ? Number((script.usec / EVENTS).toFixed(2)) : '',
    ...extra,
  };
}

/**
 * 1. RedisRoomStreams in this process: `BATCH` appends a turn (one script call each, up to
 * 500 messages), all `EVENTS` without waiting, then until every one is delivered back from
 * the stream channel; twice, the second burst measured. Counts offsets that do not go up by
 * one in their room (`offset_gaps`, expected 0).
 */
async function streamsAlone(redis, { shape, history }) {
  await redis.reset();
  const catalogue = new RealtimeCatalogue();
  const definition = catalogue.definition(shape === 'trades' ? 'trade' : 'order.created');
  const pub = createClient({ url: redis.url, disableOfflineQueue: true });
  const sub = createClient({ url: redis.url });
  await Promise.all([pub.connect(), sub.connect()]);
  const latencies = [];
  const lastOffset = new Map();
  let gaps = 0;
  let local = 0;
  const streams = new RedisRoomStreams(pub, sub, {
    instanceId: 'bench',
    prefix: 'realtime:/ws:',
    positionTtlMs: 24 * 3_600_000,
    catalogue,
    deliver: (_definition, room, data, offset) => {
      latencies.push(Date.now() - data.timestamp);
      if (offset !== (lastOffset.get(room) ?? 0) + 1) gaps++;
      lastOffset.set(room, offset);
    },
    positionLocally: (messages) => (local += messages.length),
    openLocally: () => {
      throw new Error('Redis did not answer the first open');
    },
  });
  streams.start();
  const message = (n) =>
    shape === 'trades'
      ? { symbol: 'BENCH', tradeId: n, price: '100.5', quantity: '1', timestamp: Date.now() }
      : { userId: `u${1 + ((n * 7919) % USERS)}`, orderId: n, timestamp: Date.now() };
  // Answered through this instance's own channel: the subscriber listens once it resolves.
  await streams.open({ room: eventRoom(definition, message(0)), history, since: undefined });
  const burst = async () => {
    latencies.length = 0;
    local = 0;
    for (let sent = 0; sent < EVENTS; sent += BATCH) {
      for (let i = sent; i < Math.min(EVENTS, sent + BATCH); i++) {
        const data = message(i);
        streams.append(definition, eventRoom(definition, data), history, data, Date.now());
      }
      await turn();
    }
    await waitFor(() => latencies.length + local >= EVENTS, 'every message back');
  };
  // A first burst warms up (JIT, the script's load); the second is measured.
  await burst();
  await redis.resetStats();
  const cpuBefore = ownCpuSeconds();
  const redisBefore = redis.cpuSeconds();
  const started = Date.now();
  await burst();
  const seconds = (Date.now() - started) / 1000;
  const cpu = ownCpuSeconds() - cpuBefore;
  const redisCpu = redis.cpuSeconds() - redisBefore;
  const script = await redis.script();
  streams.dispose();
  await Promise.all([pub.quit(), sub.quit()]);
  return row({
    seconds,
    latencies,
    cpu,
    redisCpu,
    script,
    extra: { offset_gaps: gaps, positioned_locally: local },
  });
}

const gateway = (env) => startGateway(env, KEY);

async function receiver(url, symbol) {
  const socket = io(`${url}/ws`, { transports: ['websocket'], reconnection: false });
  const latencies = [];
  socket.on('trade', ({ data, replay }) => {
    if (!replay) latencies.push(Date.now() - data.timestamp);
  });
  await new Promise((resolve) => socket.once('connected', resolve));
  await socket.emitWithAck('subscribe', { channel: 'trades', symbol });
  return { socket, latencies };
}

/**
 * 2. `EVENTS` trades over HTTP in requests of `BATCH`, each sent once the last was taken,
 * until the client (on the last instance) has them all, twice: the second burst is measured.
 * CPU of the instance that took them in (and, with two, of the one that only delivered).
 */
async function throughGateway(redis, env, { instances = 1 } = {}) {
  await redis?.reset();
  const servers = [];
  for (let i = 0; i < instances; i++) {
    servers.push(
      await gateway({
        ...env,
        ...(redis ? { REDIS_URL: redis.url, INSTANCE_ID: `bench-${i}` } : {}),
      }),
    );
  }
  const [entry] = servers;
  const client = await receiver(servers.at(-1).url, 'BENCH');
  const burst = async () => {
    client.latencies.length = 0;
    for (let sent = 0; sent < EVENTS; sent += BATCH) {
      const body = Array.from({ length: Math.min(BATCH, EVENTS - sent) }, (_, i) => ({
        event: 'trade',
        data: {
          symbol: 'BENCH',
          tradeId: sent + i,
          price: '100.5',
          quantity: '1',
          timestamp: Date.now(),
        },
      }));
      const response = await fetch(`${entry.url}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status !== 202) throw new Error(`publish answered ${response.status}`);
    }
    await waitFor(() => client.latencies.length >= EVENTS, 'every event');
  };
  try {
    // A first burst warms the gateway up (JIT, the script's load); the second is measured.
    await burst();
    await redis?.resetStats();
    const cpuBefore = servers.map((s) => s.cpuSeconds());
    const redisBefore = redis?.cpuSeconds();
    const started = Date.now();
    await burst();
    const seconds = (Date.now() - started) / 1000;
    const cpu = servers.map((s, i) => s.cpuSeconds() - cpuBefore[i]);
    return row({
      seconds,
      latencies: client.latencies,
      cpu: cpu[0],
      redisCpu: redis && redis.cpuSeconds() - redisBefore,
      script: redis && (await redis.script()),
      extra:
        instances > 1
          ? { receiving_cpu_ms_per_1k: Number(((cpu.at(-1) * 1e6) / EVENTS).toFixed(2)) }
          : {},
    });
  } finally {
    client.socket.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const redis = await startRedis();
try {
  const alone = {};
  for (const [label, shape, history] of [
    ['1 room (trades), history on', 'trades', HISTORY.trades],
    ['1 room (trades), history off', 'trades', HISTORY.off],
    [`${USERS} rooms (user.orders), history on`, 'private', HISTORY.private],
    [`${USERS} rooms (user.orders), history off`, 'private', HISTORY.off],
  ]) {
    alone[label] = await streamsAlone(redis, { shape, history });
  }
  const off = { HISTORY: 'off' };
  const viaGateway = {
    'no Redis, history on': await throughGateway(undefined, {}),
    'no Redis, history off': await throughGateway(undefined, off),
    'Redis, history on': await throughGateway(redis, {}),
    'Redis, history off': await throughGateway(redis, off),
    'Redis, 2 instances, client on B, history on': await throughGateway(
      redis,
      {},
      { instances: 2 },
    ),
  };
  console.log(
    `room streams cost, ${EVENTS} events, ${BATCH} a turn / an HTTP request, node ${process.version}`,
  );
  console.log('\n1. RedisRoomStreams alone (this process: cpu_ms_per_1k)');
  console.table(alone);
  console.log(
    '\n2. Through the gateway (one instance unless said; cpu_ms_per_1k: the entry instance)',
  );
  console.table(viaGateway);
} finally {
  await redis.stop();
}
process.exit(0);
