#!/usr/bin/env node
// What the cluster bus costs each instance and Redis, on one channel (today, G = 1) and spread
// over bus groups (issue 18, G = 16 with instances routed by group). Four built gateways on a
// redis-server of this script's own (loopback only, never the shared one):
//   (a) G = 1: every instance receives every event;
//   (b) G = 16, two pools of symbol groups (instances 1-2 serve groups 0-7, 3-4 groups 8-15,
//       REDIS_BUS_SYMBOL_GROUPS) and users routed so that instance i holds users of user
//       groups 4i..4i+3 only (it listens to those four user groups).
// Both: the same signed-in users connected (2 per user group), and a fixed rate of events
// posted to instance 1 (HTTP, one request every 10 ms): 80 % trades over 208 symbols (13 of
// each group of 16), 20 % order.created over 1,000 users. No client subscribes: what an instance spends is the bus's
// toll (its receipt: parse, market state), less its idle CPU measured just before.
// Per run: per instance its CPU (net of idle, from /proc) and the events it got from the bus
// (realtime_events_in_total{ingress="cluster"}: others' events; instance 1 also gets its own
// back); Redis's CPU (INFO cpu) and bytes out (INFO stats) per event, and its script calls.
// Run after `npx tsc -p tsconfig.build.json`, on a quiet machine (CPU in 10 ms ticks):
//   node bench/cluster-bus-groups.mjs [--rate=2000] [--seconds=8] [--runs=3] [--only=1,16]
import { createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { io } from 'socket.io-client';
import { sleep, startGateway, startRedis, waitFor } from './bench-support.mjs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('=')),
);
const RATE = Number(args.rate ?? 2000);
const SECONDS = Number(args.seconds ?? 8);
const RUNS = Number(args.runs ?? 3);
const ONLY = (args.only ?? '1,16').split(',').map(Number);
const WARMUP_SECONDS = 2;
const IDLE_SECONDS = 3;
const TICK_MS = 10;
const KEY = 'bench-publish-key-0123456789';
const SECRET = 'bench-jwt-secret-0123456789abcdef';
const INSTANCES = 4;
/** 13 symbols of each of the 16 symbol groups (208): every group carries as many trades. */
const SYMBOLS = (() => {
  const symbols = [];
  const perGroup = new Array(16).fill(0);
  for (let n = 0; symbols.length < 16 * 13; n++) {
    const symbol = `BG${n}USDT`;
    const group = crc32(symbol) % 16;
    if (perGroup[group] < 13) {
      perGroup[group]++;
      symbols.push(symbol);
    }
  }
  return symbols;
})();
const USERS = 1000;
const PRIVATE_SHARE = 0.2;

const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function token(user) {
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({
    sub: user,
    exp: Math.floor(Date.now() / 1000) + 3600,
  })}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

/** The user group of a user id, as libs/realtime/src/recovery/bus-groups.ts spells it. */
const userGroup = (user, groups) => crc32(user) % groups;

/** Two user ids of every group in 4i..4i+3 (of 16), for instance i: the routing of (b). */
function usersOf(instance) {
  const users = [];
  for (let group = 4 * instance; group < 4 * instance + 4; group++) {
    let found = 0;
    for (let n = 0; found < 2; n++) {
      const user = `c${group}-${n}`;
      if (userGroup(user, 16) === group) {
        users.push(user);
        found++;
      }
    }
  }
  return users;
}

async function connectUser(url, user) {
  const socket = io(`${url}/ws`, {
    transports: ['websocket'],
    reconnection: false,
    auth: { token: token(user) },
  });
  await new Promise((resolve, reject) => {
    socket.once('connected', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

async function clusterEventsIn(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('realtime_events_in_total{') && line.includes('ingress="cluster"'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

async function redisInfo(redis) {
  const cpu = String(await redis.admin.sendCommand(['INFO', 'cpu']));
  const stats = String(await redis.admin.sendCommand(['INFO', 'stats']));
  const field = (text, name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)[1]);
  return {
    cpu: field(cpu, 'used_cpu_sys') + field(cpu, 'used_cpu_user'),
    bytesOut: field(stats, 'total_net_output_bytes'),
  };
}

let nextEvent = 0;
let nextTrade = 0;
/** The next `count` events of the mix: every fifth a private order, the rest trades. */
function events(count) {
  const batch = [];
  for (let i = 0; i < count; i++) {
    const n = nextEvent++;
    const timestamp = Date.now();
    batch.push(
      n % Math.round(1 / PRIVATE_SHARE) === 0
        ? {
            event: 'order.created',
            data: { userId: `p${(n * 7919) % USERS}`, orderId: n, timestamp },
          }
        : {
            event: 'trade',
            data: {
              symbol: SYMBOLS[nextTrade++ % SYMBOLS.length],
              tradeId: n,
              price: '100.5',
              quantity: '1',
              timestamp,
            },
          },
    );
  }
  return batch;
}

/** Posts RATE events a second to `url` for `seconds`; resolves with how many were taken. */
async function traffic(url, seconds) {
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  const ticks = Math.round((seconds * 1000) / TICK_MS);
  const started = Date.now();
  let sent = 0;
  let behind = 0;
  for (let tick = 0; tick < ticks; tick++) {
    const due = started + tick * TICK_MS;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else behind++;
    const response = await fetch(`${url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(events(perTick)),
    });
    if (response.status !== 202) throw new Error(`publish answered ${response.status}`);
    sent += perTick;
  }
  return { sent, seconds: (Date.now() - started) / 1000, ticksLate: behind };
}

async function run(groups, redis) {
  await redis.reset();
  const gateways = [];
  const sockets = [];
  try {
    for (let i = 0; i < INSTANCES; i++) {
      const pool = groups > 1 ? { REDIS_BUS_SYMBOL_GROUPS: i < 2 ? '0-7' : '8-15' } : {};
      gateways.push(
        await startGateway(
          {
            REDIS_URL: redis.url,
            INSTANCE_ID: `bench-${i + 1}`,
            JWT_SECRET: SECRET,
            REDIS_BUS_GROUPS: String(groups),
            ...pool,
          },
          KEY,
        ),
      );
    }
    for (let i = 0; i < INSTANCES; i++)
      for (const user of usersOf(i)) sockets.push(await connectUser(gateways[i].url, user));
    await traffic(gateways[0].url, WARMUP_SECONDS);
    await sleep(500);
    // Idle: connections held, no event.
    const idleBefore = gateways.map((g) => g.cpuSeconds());
    await sleep(IDLE_SECONDS * 1000);
    const idleRate = gateways.map((g, i) => (g.cpuSeconds() - idleBefore[i]) / IDLE_SECONDS);

    const inBefore = await Promise.all(gateways.map((g) => clusterEventsIn(g.url)));
    await redis.resetStats();
    const redisBefore = await redisInfo(redis);
    const cpuBefore = gateways.map((g) => g.cpuSeconds());
    const started = Date.now();
    const sent = await traffic(gateways[0].url, SECONDS);
    // What is on its way still counts: wait until the receipts stop moving.
    let last = -1;
    await waitFor(
      async () => {
        const now = (await Promise.all(gateways.map((g) => clusterEventsIn(g.url)))).reduce(
          (a, b) => a + b,
          0,
        );
        const settled = now === last;
        last = now;
        if (!settled) await sleep(200);
        return settled;
      },
      'the bus to settle',
      10_000,
    );
    const window = (Date.now() - started) / 1000;
    const cpu = gateways.map((g, i) => g.cpuSeconds() - cpuBefore[i]);
    const redisAfter = await redisInfo(redis);
    const script = await redis.script();
    const inAfter = await Promise.all(gateways.map((g) => clusterEventsIn(g.url)));
    const instances = gateways.map((_, i) => ({
      instance: i + 1,
      role: i === 0 ? 'entry' : 'receiver',
      symbol_groups: groups === 1 ? 'all' : i < 2 ? '0-7' : '8-15',
      user_groups: groups === 1 ? 'all' : `${4 * i}-${4 * i + 3}`,
      events_from_bus: inAfter[i] - inBefore[i],
      share_of_sent: Number(((inAfter[i] - inBefore[i]) / sent.sent).toFixed(3)),
      cpu_s: Number(cpu[i].toFixed(2)),
      idle_cpu_s: Number((idleRate[i] * window).toFixed(2)),
      net_cpu_cores: Number(((cpu[i] - idleRate[i] * window) / sent.seconds).toFixed(3)),
      net_cpu_us_per_event_sent: Number(
        (((cpu[i] - idleRate[i] * window) * 1e6) / sent.sent).toFixed(1),
      ),
    }));
    return {
      groups,
      sent: sent.sent,
      seconds: Number(sent.seconds.toFixed(2)),
      ticks_late: sent.ticksLate,
      redis_cpu_us_per_event: Number(
        (((redisAfter.cpu - redisBefore.cpu) * 1e6) / sent.sent).toFixed(2),
      ),
      redis_bytes_out_per_event: Math.round(
        (redisAfter.bytesOut - redisBefore.bytesOut) / sent.sent,
      ),
      script_calls_per_event: Number((script.calls / sent.sent).toFixed(3)),
      instances,
    };
  } finally {
    for (const socket of sockets) socket.disconnect();
    await Promise.all(gateways.map((g) => g.stop()));
  }
}

const redis = await startRedis();
const results = [];
try {
  for (let r = 0; r < RUNS; r++)
    for (const groups of ONLY) {
      const result = await run(groups, redis);
      results.push(result);
      console.log(
        `G=${groups} run ${r + 1}: ${result.sent} events in ${result.seconds} s (${result.ticks_late} ticks late); ` +
          `Redis ${result.redis_cpu_us_per_event} µs and ${result.redis_bytes_out_per_event} B out an event, ` +
          `${result.script_calls_per_event} script calls an event`,
      );
      console.table(result.instances);
    }
} finally {
  await redis.stop();
}
const range = (values) => {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min === max ? String(min) : `${min}–${max}`;
};
console.log(
  `\nranges over ${RUNS} runs, ${RATE} events/s for ${SECONDS} s, node ${process.version}`,
);
const summary = {};
for (const groups of ONLY) {
  const mine = results.filter((r) => r.groups === groups);
  const row = {
    redis_cpu_us_per_event: range(mine.map((r) => r.redis_cpu_us_per_event)),
    redis_bytes_out_per_event: range(mine.map((r) => r.redis_bytes_out_per_event)),
    script_calls_per_event: range(mine.map((r) => r.script_calls_per_event)),
  };
  for (let i = 0; i < INSTANCES; i++) {
    row[`i${i + 1}_share`] = range(mine.map((r) => r.instances[i].share_of_sent));
    row[`i${i + 1}_cores`] = range(mine.map((r) => r.instances[i].net_cpu_cores));
  }
  summary[`G=${groups}`] = row;
}
console.table(summary);
console.log(JSON.stringify({ rate: RATE, seconds: SECONDS, results }));
process.exit(0);
