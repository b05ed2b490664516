#!/usr/bin/env node
// The unit costs of the capacity model (bench/capacity-model.mjs, docs/CAPACITY.md) that the
// other benches do not give, each on a redis-server of this script's own (never the shared
// one), loopback only, bounded (a few minutes in all):
//   1. fanout:  Redis's CPU per PUBLISH on one channel, by number of subscribers and message
//               size (raw sockets that SUBSCRIBE and discard): what one Redis pays per
//               instance of the cluster for every batch on the stream channel;
//   2. script:  RedisRoomStreams (from dist) positioning trades of 100 symbols with history,
//               at 1, 10, 100 and 500 messages a script call: Redis's CPU per event (the
//               process: script, XADD, PUBLISH to one subscriber) and the stream's bytes per
//               event;
//   3. receive: two built gateways on that Redis, trades (100 symbols), orderbook.update
//               (100 books of 20 levels a side) and order.created (10,000 users) posted to A in requests of 1, 20 and 500 events; B has no
//               client at all: B's CPU per event is what every instance pays for every event
//               of the cluster (the bus tax), A's is the entry instance's;
//   4. slots:   the connection limits' slots (RedisSlots, from dist): Redis's CPU per slot
//               taken (one EVAL a connection and key: its address, its user) and per key
//               refreshed (ZADD and PEXPIRE, every key every 10 s by default).
// Writes bench/results/capacity-inputs-<date>.json (ignored by git) and prints the tables.
// Run after `npm run build`, on a quiet machine (CPU is read from /proc in 10 ms ticks):
//   node bench/capacity-inputs.mjs [--only=fanout,script,receive] [--scale=1]
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { createClient } from 'redis';
import { ownCpuSeconds, startGateway, startRedis, turn, waitFor } from './bench-support.mjs';
import { RealtimeCatalogue } from '../dist/libs/realtime/src/events/realtime-catalogue.js';
import { eventRoom } from '../dist/libs/realtime/src/events/rooms.js';
import { MemorySlots, RedisSlots } from '../dist/libs/realtime/src/limits/connection-slots.js';
import { RedisRoomStreams } from '../dist/libs/realtime/src/recovery/redis-room-streams.js';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('=')),
);
const ONLY = args.only ? args.only.split(',') : ['fanout', 'script', 'receive', 'slots'];
const SCALE = Number(args.scale ?? 1);
const KEY = 'bench-publish-key-0123456789';
const SYMBOLS = 100;
const USERS = 10_000;

const round = (value, digits = 2) => Number(value.toFixed(digits));

/** A subscriber that discards what it gets and counts the bytes: one raw socket. */
function rawSubscriber(port, channel) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const state = { socket, bytes: 0 };
    let subscribed = false;
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      if (!subscribed) {
        subscribed = true;
        resolve(state);
        return; // the SUBSCRIBE confirmation
      }
      state.bytes += chunk.length;
    });
    socket.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n`);
  });
}

/**
 * 1. Redis's CPU per PUBLISH to `subscribers` raw sockets, messages of `size` bytes, sent
 * 200 at a time without waiting for each; measured once every subscriber has every byte.
 */
async function fanout(redis, subscribers, size, publishes) {
  const channel = 'bench:stream';
  const subs = [];
  for (let i = 0; i < subscribers; i++) subs.push(await rawSubscriber(redis.port, channel));
  const pub = createClient({ url: redis.url });
  await pub.connect();
  const message = 'x'.repeat(size);
  const frame = Buffer.byteLength(
    `*3\r\n$7\r\nmessage\r\n$${channel.length}\r\n${channel}\r\n$${size}\r\n${message}\r\n`,
  );
  const send = async (count) => {
    const start = subs.map((s) => s.bytes);
    for (let sent = 0; sent < count; sent += 200) {
      const chunk = [];
      for (let i = sent; i < Math.min(count, sent + 200); i++)
        chunk.push(pub.sendCommand(['PUBLISH', channel, message]));
      await Promise.all(chunk);
    }
    await waitFor(
      () => subs.every((s, i) => s.bytes - start[i] >= count * frame),
      'every subscriber',
    );
  };
  await send(Math.min(2000, publishes)); // warm up
  const before = redis.cpuSeconds();
  const started = Date.now();
  await send(publishes);
  const seconds = (Date.now() - started) / 1000;
  const cpu = redis.cpuSeconds() - before;
  await pub.quit();
  for (const s of subs) s.socket.destroy();
  return {
    subscribers,
    message_bytes: size,
    publishes,
    publishes_per_sec: Math.round(publishes / seconds),
    redis_cpu_pct: round((cpu / seconds) * 100, 0),
    redis_us_per_publish: round((cpu * 1e6) / publishes),
    redis_us_per_publish_per_subscriber: round((cpu * 1e6) / publishes / subscribers),
    out_mb_per_sec: round((publishes * frame * subscribers) / seconds / 1e6, 1),
  };
}

/** Least-squares fit of `y = a + b * x` (for the per-subscriber part of a publish). */
function fit(points) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const b = sxy / sxx;
  return { fixed: round(my - b * mx), perUnit: round(b, 3) };
}

const tradeOf = (n) => ({
  symbol: `SYM${n % SYMBOLS}-USDT`,
  tradeId: 1_000_000 + n,
  price: '43251.17',
  quantity: '0.0125',
  side: n % 2 ? 'buy' : 'sell',
  timestamp: Date.now(),
});
const orderOf = (n) => ({
  userId: `user-${(n * 7919) % USERS}`,
  orderId: `o-${1_000_000 + n}`,
  symbol: `SYM${n % SYMBOLS}-USDT`,
  side: 'buy',
  type: 'limit',
  status: 'new',
  price: '43251.17',
  quantity: '0.0125',
  timestamp: Date.now(),
});

const bookLevels = (side, count) =>
  Array.from({ length: count }, (_, i) => [
    (side === 'bids' ? 100 - i * 0.01 : 100.01 + i * 0.01).toFixed(2),
    '1.000',
  ]);
const bookSnapshotOf = (i) => ({
  symbol: `SYM${i}-USDT`,
  lastUpdateId: 1000,
  bids: bookLevels('bids', 20),
  asks: bookLevels('asks', 20),
  timestamp: Date.now(),
});
/** The n-th update: symbols in turn, each one's ids one after the other, a level a side. */
const bookUpdateOf = (n) => {
  const seq = Math.floor(n / SYMBOLS) + 1;
  return {
    symbol: `SYM${n % SYMBOLS}-USDT`,
    firstUpdateId: 1000 + seq,
    lastUpdateId: 1000 + seq,
    bids: [[(99.81 + (seq % 19) * 0.01).toFixed(2), `${1 + (seq % 7)}.000`]],
    asks: [[(100.02 + (seq % 19) * 0.01).toFixed(2), `${1 + (seq % 5)}.000`]],
    timestamp: Date.now(),
  };
};

/**
 * 2. RedisRoomStreams in this process, trades of 100 symbols with the gateway's trades
 * history (1,000 / 1 min), `batch` appends a turn, `events` in all (a first burst warms up).
 * Redis's process CPU per event, the script's own time, and the stream channel's bytes.
 */
async function script(redis, batch, events) {
  await redis.reset();
  const catalogue = new RealtimeCatalogue();
  const definition = catalogue.definition('trade');
  const history = { size: 1000, ageMs: 60_000 };
  const pub = createClient({ url: redis.url, disableOfflineQueue: true });
  const sub = createClient({ url: redis.url });
  const tap = createClient({ url: redis.url });
  await Promise.all([pub.connect(), sub.connect(), tap.connect()]);
  let bytes = 0;
  let publishes = 0;
  await tap.subscribe('realtime:/ws:stream', (message) => {
    bytes += Buffer.byteLength(message);
    publishes++;
  });
  let delivered = 0;
  const streams = new RedisRoomStreams(pub, sub, {
    instanceId: 'bench',
    prefix: 'realtime:/ws:',
    positionTtlMs: 24 * 3_600_000,
    catalogue,
    deliver: () => delivered++,
    positionLocally: () => {
      throw new Error('positioned locally: Redis did not answer in time');
    },
    openLocally: () => {
      throw new Error('Redis did not answer the first open');
    },
  });
  streams.start();
  await new Promise((resolve) =>
    streams.open({ room: eventRoom(definition, tradeOf(0)), history, since: undefined }, resolve),
  );
  const burst = async (count) => {
    delivered = 0;
    bytes = 0;
    publishes = 0;
    for (let sent = 0; sent < count; sent += batch) {
      for (let i = sent; i < Math.min(count, sent + batch); i++) {
        const data = tradeOf(i);
        streams.append(definition, eventRoom(definition, data), history, data, Date.now());
      }
      await turn();
      // At most ~100 script calls in flight: a burst, not a flood of the client's queue.
      if ((sent / batch) % 100 === 99) await waitFor(() => delivered >= sent, 'the stream');
    }
    await waitFor(() => delivered >= count, 'every message back');
  };
  await burst(Math.min(events, 5000));
  await redis.admin.sendCommand(['CONFIG', 'RESETSTAT']);
  const cpuBefore = ownCpuSeconds();
  const redisBefore = redis.cpuSeconds();
  const started = Date.now();
  await burst(events);
  const seconds = (Date.now() - started) / 1000;
  const cpu = ownCpuSeconds() - cpuBefore;
  const redisCpu = redis.cpuSeconds() - redisBefore;
  const info = String(await redis.admin.sendCommand(['INFO', 'commandstats']));
  const match = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(info);
  streams.dispose();
  await Promise.all([pub.quit(), sub.quit(), tap.quit()]);
  return {
    events_per_call: batch,
    events,
    events_per_sec: Math.round(events / seconds),
    redis_cpu_pct: round((redisCpu / seconds) * 100, 0),
    redis_us_per_event: round((redisCpu * 1e6) / events),
    script_us_per_event: match ? round(Number(match[2]) / events) : '',
    script_us_per_call: match ? round(Number(match[2]) / Number(match[1])) : '',
    client_us_per_event: round((cpu * 1e6) / events),
    stream_bytes_per_event: round(bytes / events, 1),
    publishes,
  };
}

async function metric(url, prefix, label) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(prefix) && line.includes(label)) total += Number(line.split(' ').at(-1));
  return total;
}

async function gateway(env) {
  const started = await startGateway(env, KEY);
  const { url } = started;
  return {
    ...started,
    /** Events this instance took from the cluster channel (`realtime_events_in_total`). */
    clusterEventsIn: () => metric(url, 'realtime_events_in_total{', 'ingress="cluster"'),
    /** Events this instance dropped (held-back order-book updates among them). */
    dropped: () => metric(url, 'realtime_events_dropped_total{', ''),
  };
}

/**
 * 3. Two gateways on one Redis; `events` of `kind` posted to A in requests of `batch`, one
 * request after the other; B has no client. CPU per event of each, once B counted them all.
 */
async function receive(redis, kind, batch, events) {
  await redis.reset();
  const a = await gateway({ REDIS_URL: redis.url, INSTANCE_ID: 'capacity-a' });
  const b = await gateway({ REDIS_URL: redis.url, INSTANCE_ID: 'capacity-b' });
  const [event, make] = {
    trade: ['trade', tradeOf],
    order: ['order.created', orderOf],
    book: ['orderbook.update', bookUpdateOf],
  }[kind];
  let next = 0;
  const post = async (body) => {
    const response = await fetch(`${a.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 202) throw new Error(`publish answered ${response.status}`);
  };
  if (kind === 'book') {
    // Every instance keeps every book: a snapshot of each first, then updates in sequence.
    const target = (await b.clusterEventsIn()) + SYMBOLS;
    await post(
      Array.from({ length: SYMBOLS }, (_, i) => ({
        event: 'orderbook.snapshot',
        data: bookSnapshotOf(i),
      })),
    );
    await waitFor(async () => (await b.clusterEventsIn()) >= target, 'the snapshots');
  }
  const burst = async (count) => {
    const target = (await b.clusterEventsIn()) + count;
    for (let sent = 0; sent < count; sent += batch) {
      await post(
        Array.from({ length: Math.min(batch, count - sent) }, () => ({
          event,
          data: make(next++),
        })),
      );
    }
    await waitFor(async () => (await b.clusterEventsIn()) >= target, 'B to have every event');
  };
  try {
    await burst(Math.min(events, 5000));
    const before = [a.cpuSeconds(), b.cpuSeconds(), redis.cpuSeconds()];
    const started = Date.now();
    await burst(events);
    const seconds = (Date.now() - started) / 1000;
    const [ca, cb, cr] = [a.cpuSeconds(), b.cpuSeconds(), redis.cpuSeconds()].map(
      (value, i) => value - before[i],
    );
    return {
      event,
      events_per_request: batch,
      events,
      events_per_sec: Math.round(events / seconds),
      entry_us_per_event: round((ca * 1e6) / events),
      receive_us_per_event: round((cb * 1e6) / events),
      redis_us_per_event: round((cr * 1e6) / events),
      receive_cpu_pct: round((cb / seconds) * 100, 0),
      receiver_dropped: await b.dropped(),
    };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

/** 4. `keys` slots taken (one holder each, as one address or one user), then refreshed. */
async function slots(redis, keys) {
  await redis.reset();
  const client = createClient({ url: redis.url });
  await client.connect();
  // A lifetime long enough that the heartbeat never runs by itself here.
  const slots = new RedisSlots(client, new MemorySlots(), 'bench:slots:', 3_600_000);
  const take = async (from, to) => {
    for (let start = from; start < to; start += 500) {
      const chunk = [];
      for (let i = start; i < Math.min(to, start + 500); i++)
        chunk.push(slots.take(`ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `c${i}`, 10));
      if ((await Promise.all(chunk)).includes(false)) throw new Error('a slot was refused');
    }
  };
  await take(0, 2000);
  let before = redis.cpuSeconds();
  let started = Date.now();
  await take(2000, 2000 + keys);
  const takeSeconds = (Date.now() - started) / 1000;
  const takeCpu = redis.cpuSeconds() - before;
  // Refreshes are sent without waiting (as the heartbeat does); PING answers after them.
  const refreshes = 3;
  before = redis.cpuSeconds();
  started = Date.now();
  for (let i = 0; i < refreshes; i++) {
    slots.refresh();
    await client.ping();
  }
  const refreshSeconds = (Date.now() - started) / 1000;
  const refreshCpu = redis.cpuSeconds() - before;
  slots.dispose();
  await client.quit();
  const refreshed = refreshes * (keys + 2000);
  return {
    keys,
    takes_per_sec: Math.round(keys / takeSeconds),
    redis_us_per_take: round((takeCpu * 1e6) / keys),
    key_refreshes_per_sec: Math.round(refreshed / refreshSeconds),
    redis_us_per_key_refresh: round((refreshCpu * 1e6) / refreshed),
  };
}

const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model },
  node: process.version,
  redis: undefined,
};
const redis = await startRedis();
try {
  const infoServer = String(await redis.admin.sendCommand(['INFO', 'server']));
  results.redis = /redis_version:(\S+)/.exec(infoServer)?.[1];
  if (ONLY.includes('fanout')) {
    const rows = [];
    for (const size of [200, 20_000])
      for (const subscribers of [1, 8, 32])
        rows.push(
          await fanout(
            redis,
            subscribers,
            size,
            Math.round(((size > 1000 ? 20_000 : 200_000) * SCALE) / Math.sqrt(subscribers)),
          ),
        );
    const fits = {};
    for (const size of [200, 20_000])
      fits[size] = fit(
        rows
          .filter((r) => r.message_bytes === size)
          .map((r) => [r.subscribers, r.redis_us_per_publish]),
      );
    // Per subscriber of a publish: fixed part plus a part per byte, from the two sizes.
    const perByte = (fits[20_000].perUnit - fits[200].perUnit) / (20_000 - 200);
    results.fanout = {
      rows,
      fit: {
        publish_fixed_us: fits[200].fixed,
        per_subscriber_us: round(fits[200].perUnit - perByte * 200, 3),
        per_subscriber_byte_ns: round(perByte * 1000, 4),
      },
    };
    console.log('\n1. Redis CPU per PUBLISH, by subscribers and message size');
    console.table(rows);
    console.log('fit (µs): publish = fixed + subscribers × (per_subscriber + bytes × per_byte)');
    console.log(results.fanout.fit);
  }
  if (ONLY.includes('script')) {
    const rows = [];
    for (const batch of [1, 10, 100, 500])
      rows.push(await script(redis, batch, Math.round((batch === 1 ? 10_000 : 40_000) * SCALE)));
    results.script = { rows };
    console.log('\n2. RedisRoomStreams: trades of 100 symbols, history on, by events per call');
    console.table(rows);
  }
  if (ONLY.includes('receive')) {
    const rows = [];
    for (const kind of ['trade', 'book', 'order'])
      for (const batch of [1, 20, 500])
        rows.push(
          await receive(redis, kind, batch, Math.round((batch === 1 ? 5000 : 40_000) * SCALE)),
        );
    results.receive = { rows };
    console.log('\n3. Two gateways: A takes the events in, B (no clients) only receives');
    console.table(rows);
  }
  if (ONLY.includes('slots')) {
    results.slots = await slots(redis, Math.round(30_000 * SCALE));
    console.log('\n4. Connection slots: one EVAL per slot taken, ZADD + PEXPIRE per key refreshed');
    console.table([results.slots]);
  }
} finally {
  await redis.stop();
}
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/capacity-inputs-${results.date.slice(0, 19).replace(/:/g, '-')}.json`;
writeFileSync(file, JSON.stringify(results, null, 2));
writeFileSync('bench/results/capacity-inputs-latest.json', JSON.stringify(results, null, 2));
console.log(`\nwrote ${file} and bench/results/capacity-inputs-latest.json`);
process.exit(0);
