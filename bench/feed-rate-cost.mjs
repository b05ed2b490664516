#!/usr/bin/env node
// What a rate-limited order-book feed costs the gateway (issue 17): one symbol's book, updated
// at a fixed rate through `POST /api/publish`, to N subscribers of `orderbook` that all chose
// the same feed (realtime, 100ms, 250ms, 1000ms, depth 10 at realtime or at a rate). Per case:
// messages delivered, the gateway's CPU (per 1,000 delivered, per exchange update, per room
// send), the bytes the clients read, and whether every client reached the last update id.
// One built gateway per case (`npx tsc -p tsconfig.build.json` first), loopback only.
//
//   node bench/feed-rate-cost.mjs                 the plan below, --runs=3 by default
//   node bench/feed-rate-cost.mjs --rate=1000 --clients=200 --seconds=5 --runs=1 \
//     --cases=none,250ms,1000ms,d10@250ms,250ms/100
//
// A case is `realtime`, `100ms`, `250ms`, `1000ms`, `d10` (depth 10 at realtime), `d10@250ms`,
// or `none` (no subscriber: what taking the updates in costs alone); `/N` gives its
// subscribers (else --clients). See bench/README.md.
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { cpuSecondsOf, ioBytesOf, ownCpuSeconds, sleep, startGateway } from './bench-support.mjs';

const KEY = 'bench-publish-key-0123456789';
const SYMBOL = 'BOOKBENCH';
/** Connections per load worker: the open-file limit is 20,000 a process. */
const PER_WORKER = 5000;
/** Price ticks per side: the whole book the gateway keeps. */
const TICKS = 200;
const QUANTITIES = ['1', '2', '3', '1.5', '2.25', '0.5', '4'];
/** Never one of QUANTITIES: the last update always changes the best bid, so every feed sends it. */
const LAST_QUANTITY = '9.99';

const argument = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? found.slice(name.length + 3) : fallback;
};
const settings = {
  clients: Number(argument('clients', 10_000)),
  seconds: Number(argument('seconds', 20)),
  runs: Number(argument('runs', 3)),
  /** Levels each exchange update touches. */
  levels: Number(argument('levels', 3)),
};
const casesArgument = argument('cases');
/**
 * Without --cases: the feeds that can take an exchange's 1,000 updates a second to 10,000
 * subscribers, what the merge costs as subscribers grow, realtime at that rate to 100, and (at
 * 10 updates a second, about what this machine can send 10,000 realtime subscribers) every
 * feed beside realtime.
 */
const plan = casesArgument
  ? [{ rate: Number(argument('rate', 1000)), cases: casesArgument.split(',') }]
  : [
      {
        rate: 1000,
        cases: ['none', '100ms', '250ms', '1000ms', 'd10@250ms', '250ms/100', '250ms/1000'],
      },
      { rate: 1000, cases: ['realtime/100', 'd10/100'] },
      { rate: 10, cases: ['realtime', '100ms', '250ms', '1000ms', 'd10', 'd10@250ms'] },
    ];

// Whatever ends this process, the gateway and the load workers end with it.
const pids = new Set();
process.on('exit', () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** `250ms/100` → its feed choice and subscribers. */
function parseCase(name) {
  const [feed, count] = name.split('/');
  const clients = count === undefined ? settings.clients : Number(count);
  if (feed === 'none') return { name, feed, clients: 0 };
  const match = /^(?:d(\d+)(?:@(\d+ms))?|(realtime|\d+ms))$/.exec(feed);
  if (!match) throw new Error(`no case ${name}`);
  const [, depth, depthRate, rate] = match;
  const choice = depth
    ? { rate: depthRate ?? 'realtime', depth: Number(depth) }
    : { rate: rate ?? 'realtime' };
  return { name, feed, clients, choice, windowMs: Number.parseInt(choice.rate) || undefined };
}

/** A small seeded generator (mulberry32): every case publishes the same book stream. */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An exchange's book for one symbol: a full snapshot, then updates that change, remove and
 * add levels, most of them near the top (as on an exchange), so a window merges many updates
 * into a few levels.
 */
class BookStream {
  random = seeded(17);
  bids = new Map();
  asks = new Map();
  lastUpdateId = 1;

  price(isBid, tick) {
    return (isBid ? 100 - 0.01 * (tick + 1) : 100 + 0.01 * (tick + 1)).toFixed(2);
  }

  quantity() {
    return QUANTITIES[Math.floor(this.random() * QUANTITIES.length)];
  }

  snapshot() {
    const side = (isBid) =>
      Array.from({ length: TICKS }, (_, tick) => {
        const level = [this.price(isBid, tick), this.quantity()];
        (isBid ? this.bids : this.asks).set(tick, level[1]);
        return level;
      });
    const bids = side(true);
    const asks = side(false);
    return {
      event: 'orderbook.snapshot',
      data: { symbol: SYMBOL, lastUpdateId: this.lastUpdateId, bids, asks },
    };
  }

  update(levels, last = false) {
    const bids = [];
    const asks = [];
    const touched = new Set();
    for (let n = 0; n < levels; n++) {
      const isBid = this.random() < 0.5;
      // Exponential around the top: half the changes within the best 7 ticks.
      const tick = Math.min(TICKS - 1, Math.floor(-Math.log(1 - this.random()) * 10));
      if (touched.has(`${isBid}${tick}`)) continue;
      touched.add(`${isBid}${tick}`);
      const book = isBid ? this.bids : this.asks;
      const removed = book.has(tick) && this.random() < 0.1;
      const quantity = removed ? '0' : this.quantity();
      if (removed) book.delete(tick);
      else book.set(tick, quantity);
      (isBid ? bids : asks).push([this.price(isBid, tick), quantity]);
    }
    if (last) {
      this.bids.set(0, LAST_QUANTITY);
      const best = bids.find(([price]) => price === this.price(true, 0));
      if (best) best[1] = LAST_QUANTITY;
      else bids.push([this.price(true, 0), LAST_QUANTITY]);
    }
    const id = ++this.lastUpdateId;
    return {
      event: 'orderbook.update',
      data: {
        symbol: SYMBOL,
        firstUpdateId: id,
        lastUpdateId: id,
        bids,
        asks,
        timestamp: Date.now(),
      },
    };
  }
}

async function publish(gateway, events) {
  const response = await fetch(`${gateway.url}/api/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
    signal: globalThis.AbortSignal.timeout(10_000),
  });
  if (response.status !== 202) throw new Error(`publish answered ${response.status}`);
}

/** Load workers (bench/load-worker.mjs) holding `clients` subscribers of one feed. */
class Subscribers {
  workers = [];

  static async open(gateway, clients, choice) {
    const subscribers = new Subscribers();
    const url = `${gateway.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const command = ['subscribe', { channel: 'orderbook', symbol: SYMBOL, ...choice }];
    for (let made = 0, address = 2; made < clients; made += PER_WORKER, address++) {
      const worker = fork(new URL('./load-worker.mjs', import.meta.url).pathname, [
        JSON.stringify({
          targets: [{ url, command }],
          connections: Math.min(PER_WORKER, clients - made),
          firstAddress: address,
          protocol: 'socket.io',
          books: true,
        }),
      ]);
      pids.add(worker.pid);
      subscribers.workers.push(worker);
      await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('exit', (code) => reject(new Error(`a load worker exited (${code})`)));
      });
      worker.send('connect');
    }
    // At least 100 handshakes a second, and a minute for any number.
    const deadline = Date.now() + Math.max(60_000, clients * 10);
    for (;;) {
      const ready = (await subscribers.report()).reduce((sum, r) => sum + r.ready, 0);
      if (ready === clients) return subscribers;
      if (Date.now() > deadline) throw new Error(`only ${ready} of ${clients} subscribed`);
      await sleep(200);
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

  cpuSeconds() {
    return this.workers.reduce((sum, worker) => sum + cpuSecondsOf(worker.pid), 0);
  }

  bytesRead() {
    return this.workers.reduce((sum, worker) => sum + ioBytesOf(worker.pid).read, 0);
  }

  async close() {
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker.exitCode !== null) return pids.delete(worker.pid);
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.send('stop');
        const timer = setTimeout(() => worker.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
        pids.delete(worker.pid);
      }),
    );
  }
}

/** CPU seconds the whole machine was busy so far (all cores), from /proc/stat. */
function machineBusySeconds() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

const percentile = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
const fixed = (value, digits) => (value === null ? null : Number(value.toFixed(digits)));

/** One case on a fresh gateway: subscribe, publish for `seconds`, wait for the last id. */
async function runCase(rate, spec, run) {
  const load_1min = fixed(loadavg()[0], 2);
  const gateway = await startGateway(
    {
      MAX_CONNECTIONS_PER_IP: '0',
      MAX_CONNECTIONS_PER_USER: '0',
      NEW_CONNECTIONS_PER_IP_PER_MINUTE: '0',
    },
    KEY,
  );
  pids.add(gateway.pid);
  let subscribers;
  try {
    const stream = new BookStream();
    await publish(gateway, [stream.snapshot()]);
    subscribers = spec.clients
      ? await Subscribers.open(gateway, spec.clients, spec.choice)
      : undefined;
    await sleep(1000);
    await subscribers?.report(); // what came before publishing does not count
    const cpuBefore = gateway.cpuSeconds();
    const workersCpuBefore = subscribers?.cpuSeconds() ?? 0;
    const bytesBefore = subscribers?.bytesRead() ?? 0;
    // What the rest of the machine (other work on it) took meanwhile: the load condition.
    const machineBefore = machineBusySeconds();
    const ownBefore = ownCpuSeconds();
    const started = Date.now();
    let published = 0;
    while (Date.now() - started < settings.seconds * 1000) {
      const due = Math.min(500, Math.floor(((Date.now() - started) / 1000) * rate) - published);
      if (due > 0) {
        const events = Array.from({ length: due }, () => stream.update(settings.levels));
        published += due;
        await publish(gateway, events);
      }
      await sleep(5);
    }
    await publish(gateway, [stream.update(settings.levels, true)]);
    published++;
    const publishedSeconds = (Date.now() - started) / 1000;
    const lastId = stream.lastUpdateId;
    // Every subscriber's feed sends the last update within its window and the sends queued
    // before it: polled, up to 20 s.
    let delivered = 0;
    let lowest = 0;
    const latencies = [];
    const tailDeadline = Date.now() + 20_000;
    for (let done = !subscribers; !done;) {
      const reports = await subscribers.report();
      for (const report of reports) {
        delivered += report.bookMessages;
        for (const latency of report.latencies) latencies.push(latency);
      }
      lowest = Math.min(...reports.map((r) => r.lastUpdateIds.lowest));
      done = lowest >= lastId || Date.now() > tailDeadline;
      if (!done) await sleep(250);
    }
    const elapsed = (Date.now() - started) / 1000;
    const cpu = gateway.cpuSeconds() - cpuBefore;
    const workersCpu = (subscribers?.cpuSeconds() ?? 0) - workersCpuBefore;
    const bytes = (subscribers?.bytesRead() ?? 0) - bytesBefore;
    const others = machineBusySeconds() - machineBefore - cpu - workersCpu;
    const harnessCpu = ownCpuSeconds() - ownBefore;
    const ready = subscribers
      ? (await subscribers.report()).reduce((sum, r) => sum + r.ready, 0)
      : 0;
    latencies.sort((a, b) => a - b);
    // One room send: one message encoded once and written to every subscriber of the feed.
    const sends = spec.clients ? delivered / spec.clients : 0;
    return {
      run,
      rate,
      case: spec.feed,
      clients: spec.clients,
      still_connected: ready,
      load_1min,
      published,
      published_seconds: fixed(publishedSeconds, 1),
      elapsed_seconds: fixed(elapsed, 1),
      delivered,
      per_client: fixed(sends, 1),
      last_id_ok: subscribers ? lowest >= lastId : null,
      gateway_cpu_s: fixed(cpu, 2),
      gateway_cpu_pct: Math.round((cpu / elapsed) * 100),
      cpu_ms_per_1k: delivered ? fixed((cpu * 1e6) / delivered, 2) : null,
      cpu_us_per_update: fixed((cpu * 1e6) / published, 1),
      cpu_ms_per_send: sends ? fixed((cpu * 1000) / sends, 2) : null,
      client_mb: fixed(bytes / 1e6, 1),
      bytes_per_message: delivered ? Math.round(bytes / delivered) : null,
      workers_cpu_pct: Math.round((workersCpu / elapsed) * 100),
      harness_cpu_pct: Math.round((harnessCpu / elapsed) * 100),
      // Every other process of the machine, 100 a core (of 2): the other work while measuring.
      others_cpu_pct: Math.round(((others - harnessCpu) / elapsed) * 100),
      // Realtime full-book messages carry the publisher's timestamp: publish to receipt.
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
    };
  } finally {
    await subscribers?.close();
    await gateway.stop();
    pids.delete(gateway.pid);
  }
}

const range = (values) => {
  const present = values.filter((value) => value !== null && value !== undefined);
  if (present.length === 0) return null;
  const low = Math.min(...present);
  const high = Math.max(...present);
  return low === high ? `${low}` : `${low} – ${high}`;
};

const rows = [];
const started = new Date();
const file = new URL(
  `./results/feed-rate-cost-${started.toISOString().slice(0, 19).replace(/:/g, '-')}.json`,
  import.meta.url,
);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const groups = plan.map(({ rate, cases }) => ({ rate, specs: cases.map(parseCase) }));
for (let run = 1; run <= settings.runs; run++) {
  for (const { rate, specs } of groups) {
    // Each run starts one case later in its group, so drift of a shared machine spreads over all.
    const order = specs.map((_, i) => specs[(i + run - 1) % specs.length]);
    for (const spec of order) {
      const row = await runCase(rate, spec, run);
      rows.push(row);
      console.error(
        `run ${run} ${rate}/s ${spec.name}: delivered ${row.delivered} (${row.per_client} each), ` +
          `last id ${row.last_id_ok}, gateway ${row.gateway_cpu_s} s (${row.cpu_ms_per_1k} ms/1k, ` +
          `${row.cpu_us_per_update} us/update), load ${row.load_1min}`,
      );
      writeFileSync(
        file,
        JSON.stringify({ settings, plan, cpus: cpus().length, date: started, rows }, null, 2) +
          '\n',
      );
    }
  }
}
console.table(rows, [
  'run',
  'rate',
  'case',
  'clients',
  'delivered',
  'per_client',
  'last_id_ok',
  'gateway_cpu_s',
  'cpu_ms_per_1k',
  'cpu_us_per_update',
  'cpu_ms_per_send',
  'bytes_per_message',
  'workers_cpu_pct',
  'load_1min',
]);
// Over runs, and the same less what taking the updates in costs alone (`none` at that rate).
const summary = [];
for (const { rate, specs } of groups) {
  const ingest = rows.filter((r) => r.rate === rate && r.case === 'none');
  const ingestPerSecond = ingest.length
    ? ingest.reduce((sum, r) => sum + r.gateway_cpu_s / r.elapsed_seconds, 0) / ingest.length
    : undefined;
  for (const spec of specs) {
    const of = rows.filter(
      (r) => r.rate === rate && r.case === spec.feed && r.clients === spec.clients,
    );
    const netCpu = (r) => r.gateway_cpu_s - ingestPerSecond * r.elapsed_seconds;
    const net = (r) =>
      ingestPerSecond === undefined || !r.delivered
        ? null
        : fixed((netCpu(r) * 1e6) / r.delivered, 2);
    const netPerSend = (r) =>
      ingestPerSecond === undefined || !r.per_client
        ? null
        : fixed((netCpu(r) * 1000) / r.per_client, 2);
    summary.push({
      rate,
      case: spec.feed,
      clients: spec.clients,
      runs: of.length,
      delivered: range(of.map((r) => r.delivered)),
      per_client: range(of.map((r) => r.per_client)),
      all_got_last_id: of.every((r) => r.last_id_ok !== false),
      gateway_cpu_s: range(of.map((r) => r.gateway_cpu_s)),
      cpu_ms_per_1k: range(of.map((r) => r.cpu_ms_per_1k)),
      net_cpu_ms_per_1k: range(of.map(net)),
      cpu_us_per_update: range(of.map((r) => r.cpu_us_per_update)),
      cpu_ms_per_send: range(of.map((r) => r.cpu_ms_per_send)),
      net_cpu_ms_per_send: range(of.map(netPerSend)),
      bytes_per_message: range(of.map((r) => r.bytes_per_message)),
      workers_cpu_pct: range(of.map((r) => r.workers_cpu_pct)),
      others_cpu_pct: range(of.map((r) => r.others_cpu_pct)),
      load_1min: range(of.map((r) => r.load_1min)),
    });
  }
}
console.table(summary);
// One feed at several subscriber counts: CPU per room send = fixed + per subscriber x N
// (least squares over every run): the fixed part is the merge, its encoding and the ingest's
// share; the per-subscriber part the writes.
const fits = [];
for (const rate of new Set(groups.map((group) => group.rate))) {
  for (const feed of new Set(rows.filter((r) => r.rate === rate && r.clients).map((r) => r.case))) {
    const of = rows.filter((r) => r.rate === rate && r.case === feed && r.cpu_ms_per_send);
    if (new Set(of.map((r) => r.clients)).size < 2) continue;
    const n = of.length;
    const meanX = of.reduce((sum, r) => sum + r.clients, 0) / n;
    const meanY = of.reduce((sum, r) => sum + r.cpu_ms_per_send, 0) / n;
    const slope =
      of.reduce((sum, r) => sum + (r.clients - meanX) * (r.cpu_ms_per_send - meanY), 0) /
      of.reduce((sum, r) => sum + (r.clients - meanX) ** 2, 0);
    fits.push({
      rate,
      case: feed,
      points: n,
      fixed_ms_per_send: fixed(meanY - slope * meanX, 2),
      us_per_subscriber_per_send: fixed(slope * 1000, 2),
    });
  }
}
if (fits.length) console.table(fits);
writeFileSync(
  file,
  JSON.stringify(
    { settings, plan, cpus: cpus().length, date: started, rows, summary, fits },
    null,
    2,
  ) + '\n',
);
console.error(`written to ${file.pathname}`);
process.exit(0);
