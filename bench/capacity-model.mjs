#!/usr/bin/env node
// Capacity model of a gateway cluster (docs/CAPACITY.md): for N connections, E events a
// second and a fan-out profile, how many instances, what Redis carries, and which resource
// saturates first. Pure arithmetic on unit costs measured here: the constants below, each
// with the command that measured it, or a results file of bench/capacity-inputs.mjs
// (`--inputs=bench/results/capacity-inputs-latest.json`), which replaces the Redis and bus
// costs with that run's. Anything not measured is marked `assumption` and printed as such.
//
//   node bench/capacity-model.mjs [--set=connections=1000000,events=100000,...] [--inputs=file]
//                                 [--harness=bench/results/latest.json]
//                                 [--bus=single|sharded] [--json] [--sweep]
//
// `--harness` takes the delivery and memory rows (fanout, fanout-burst batched, private,
// idle or capacity of the `gateway` target) from a results file of `npm run bench`.
//
// `--set` takes any key of PROFILE, INSTANCE, REDIS or COSTS below. `--bus=sharded` models
// the change docs/CAPACITY.md proposes (channels by symbol group and by user, spread over
// the shards of a Redis Cluster), `--sweep` prints the events a second at which each
// resource saturates, `--json` the whole result.
import { existsSync, readFileSync } from 'node:fs';

/** The load. Every figure here is an assumption about the exchange, not a measurement. */
const PROFILE = {
  connections: 1_000_000,
  /** Events a second entering the cluster, all ingresses together. */
  events: 100_000,
  /** Share of the events that go to one user (orders, fills, balances): the rest are public. */
  privateShare: 0.2,
  /** Symbols the public events spread over, evenly (a hot symbol: see `hotShare`). */
  symbols: 1000,
  /** Public rooms (symbol × channel) one connection subscribes to, on average. */
  roomsPerConnection: 2,
  /** Share of the public events that are order-book updates (the rest: trades, tickers). */
  bookShare: 0.7,
  /** Public rooms a symbol has (trades, orderbook, ticker, klines): events spread over them. */
  roomsPerSymbol: 3,
  /** Connections of one user (tabs, devices): each gets the user's private events. */
  connectionsPerUser: 1.5,
  /** Share of connections subscribed to their user's private channels (signed in). */
  signedInShare: 0.5,
  /** Events that share one turn of the entry instance's loop, so one script call and one PUBLISH. */
  eventsPerCall: 20,
  /** Distinct client addresses per connection (1: none share; NAT and mobile carriers share). */
  addressesPerConnection: 0.8,
  /** Mean life of a connection, s: new connections a second are `connections / this`. */
  connectionLifeSec: 1800,
  /** CONNECTION_SLOT_LIFETIME_MS: every slot key is refreshed every third of it. */
  slotLifetimeMs: 30_000,
  /** `--bus=sharded`: public events a script call (one symbol group's of a turn). Assumption. */
  shardedEventsPerCall: 5,
  /** `--bus=sharded`: user groups (hash tags, so channels and keys) private events spread over. */
  userGroups: 16_384,
  /**
   * `--bus=sharded` only: share of the public symbol groups' channels an instance subscribes
   * to. 1 unless connections are routed to instances by symbol group: an instance holding
   * thousands of random members needs nearly every group.
   */
  publicGroupsReceivedShare: 1,
};

/** One gateway process (Node runs the gateway's JavaScript on one thread). Assumptions. */
const INSTANCE = {
  /** Share of one core the gateway's thread may use at steady load, for bursts and GC. */
  cpuBudget: 0.7,
  /** RSS one process may use for connections (--max-old-space-size and the pod's limit). */
  memoryBudgetMb: 3072,
  /** Connections one process may hold (assumption; measured: 19,000 at a file limit of 20,000). */
  maxConnections: 50_000,
  /** Receive bandwidth an instance may spend on the cluster bus (a 10 Gbit/s NIC's 10 %). */
  busBandwidthMbPerSec: 125,
};

/** One Redis (one shard: one thread runs every command and writes every PUBLISH). */
const REDIS = {
  /** Share of the Redis thread's core it may use (assumption: beyond it latency climbs). */
  cpuBudget: 0.8,
  /** Outbound bandwidth of one Redis node (assumption: a 10 Gbit/s NIC). */
  networkMbPerSec: 1250,
  /** Redis Cluster shards for `--bus=sharded` (assumption). */
  shards: 8,
};

/**
 * Unit costs, measured on the 2-core machine of bench/README.md. Each says where it comes
 * from; `--inputs` replaces the Redis and bus rows with a capacity-inputs run's.
 */
const COSTS = {
  /** KB of RSS per idle signed-in Socket.IO connection. */
  rssPerConnectionKb: 9.9,
  /** Gateway CPU µs per message delivered to a public-room member, messages one by one. */
  deliveryUs: 11.5,
  /** The same when a connection gets several messages a turn (one writev; batched clients). */
  deliveryBurstUs: 5.6,
  /** Gateway CPU µs per private event delivered to one connection, end to end on one instance. */
  privateEventUs: 54,
  /**
   * Every instance's CPU µs per event it receives from the cluster channel with no member to
   * deliver it to, by events a batch: trades, order-book updates (the book kept and its
   * checksum), private orders. Run of 2026-12-03 07:48 (two others within the ranges of
   * docs/CAPACITY.md).
   */
  receiveUs: {
    trade: { 1: 58, 20: 6.75, 500: 2.5 },
    book: { 1: 64, 20: 18.5, 500: 8.5 },
    private: { 1: 44, 20: 7, 500: 3 },
  },
  /** The entry instance's CPU µs per event taken in over HTTP in requests of that many. */
  entryUs: {
    trade: { 1: 374, 20: 38, 500: 8 },
    book: { 1: 326, 20: 55.25, 500: 14 },
    private: { 1: 294, 20: 37.25, 500: 11.75 },
  },
  /** Redis process CPU µs per event positioned (script, XADD, one PUBLISH to one subscriber). */
  redisUsPerEvent: { 1: 23, 10: 7, 100: 7, 500: 4 },
  /** Bytes of the stream channel per event (batch header, offsets, `[event, data]` JSON). */
  streamBytesPerEvent: { 1: 185.1, 10: 159.2, 100: 157.5, 500: 141.2 },
  /** Redis CPU per PUBLISH per extra subscriber: fixed µs, plus ns per byte of the message. */
  publishPerSubscriberUs: 0.125,
  publishPerSubscriberByteNs: 0.24,
  /** Redis CPU µs per connection slot taken (one EVAL per connection and key). */
  slotTakeUs: 7,
  /** Redis CPU µs per slot key refreshed (ZADD + PEXPIRE). */
  slotRefreshUs: 2.5,
};

const SOURCES = {
  rssPerConnectionKb:
    'README Performance, full run 2026-12-04, `capacity` gateway x4 (63,763 connections): 9.9 KB RSS; idle 9.7; JSON endpoint 10.4',
  deliveryUs:
    'README Performance, full run: `fanout` gateway 69 % of a core at 59,963 delivered/s (npm run bench)',
  deliveryBurstUs:
    'README Performance, full run: `fanout-burst` gateway (batched) 84 % at 149,937 delivered/s',
  privateEventUs:
    'README Performance, full run: `private` gateway 27 % at 4,999 events/s to 10,000 users, one instance, HTTP entry included',
  receiveUs:
    'bench/capacity-inputs.mjs part 3 (receive_us_per_event: B, no clients; trade, orderbook.update, order.created)',
  entryUs: 'bench/capacity-inputs.mjs part 3 (entry_us_per_event: A, HTTP ingress)',
  redisUsPerEvent: 'bench/capacity-inputs.mjs part 2 (redis_us_per_event)',
  streamBytesPerEvent: 'bench/capacity-inputs.mjs part 2 (stream_bytes_per_event)',
  publishPerSubscriberUs: 'bench/capacity-inputs.mjs part 1 (fit.per_subscriber_us)',
  publishPerSubscriberByteNs: 'bench/capacity-inputs.mjs part 1 (fit.per_subscriber_byte_ns)',
  slotTakeUs: 'bench/capacity-inputs.mjs part 4 (redis_us_per_take)',
  slotRefreshUs: 'bench/capacity-inputs.mjs part 4 (redis_us_per_key_refresh)',
};

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [key, ...value] = a.slice(2).split('=');
      return [key, value.join('=') || true];
    }),
);

/** Replaces the measured rows with a capacity-inputs results file's. */
function loadInputs(file) {
  if (!existsSync(file)) throw new Error(`no such results file: ${file}`);
  const run = JSON.parse(readFileSync(file, 'utf8'));
  const from = `${file} (${run.date})`;
  if (run.fanout) {
    COSTS.publishPerSubscriberUs = Math.max(0, run.fanout.fit.per_subscriber_us);
    COSTS.publishPerSubscriberByteNs = Math.max(0, run.fanout.fit.per_subscriber_byte_ns);
    SOURCES.publishPerSubscriberUs = SOURCES.publishPerSubscriberByteNs = from;
  }
  if (run.script) {
    COSTS.redisUsPerEvent = {};
    COSTS.streamBytesPerEvent = {};
    for (const r of run.script.rows) {
      COSTS.redisUsPerEvent[r.events_per_call] = r.redis_us_per_event;
      COSTS.streamBytesPerEvent[r.events_per_call] = r.stream_bytes_per_event;
    }
    SOURCES.redisUsPerEvent = SOURCES.streamBytesPerEvent = from;
  }
  if (run.slots) {
    COSTS.slotTakeUs = run.slots.redis_us_per_take;
    COSTS.slotRefreshUs = run.slots.redis_us_per_key_refresh;
    SOURCES.slotTakeUs = SOURCES.slotRefreshUs = from;
  }
  if (run.receive) {
    const kinds = { trade: 'trade', 'orderbook.update': 'book', 'order.created': 'private' };
    COSTS.receiveUs = { trade: {}, book: {}, private: {} };
    COSTS.entryUs = { trade: {}, book: {}, private: {} };
    for (const r of run.receive.rows) {
      COSTS.receiveUs[kinds[r.event]][r.events_per_request] = r.receive_us_per_event;
      COSTS.entryUs[kinds[r.event]][r.events_per_request] = r.entry_us_per_event;
    }
    SOURCES.receiveUs = SOURCES.entryUs = from;
  }
}

/**
 * Replaces the delivery and memory rows with a harness results file's (`npm run bench`:
 * bench/results/latest.json), from the `gateway` target's rows where the run has them.
 */
function loadHarness(file) {
  if (!existsSync(file)) throw new Error(`no such results file: ${file}`);
  const run = JSON.parse(readFileSync(file, 'utf8'));
  const from = `${file} (${run.date}, ${run.mode})`;
  const rowOf = (name, target) =>
    run.scenarios.find((r) => r.name === name && r.target === target && r.cpu_ms_per_1k);
  const fanout = rowOf('fanout', 'gateway');
  if (fanout) [COSTS.deliveryUs, SOURCES.deliveryUs] = [fanout.cpu_ms_per_1k, `${from} fanout`];
  const burst = rowOf('fanout-burst', 'gateway (batched)');
  if (burst)
    [COSTS.deliveryBurstUs, SOURCES.deliveryBurstUs] = [
      burst.cpu_ms_per_1k,
      `${from} fanout-burst`,
    ];
  const priv = rowOf('private', 'gateway');
  if (priv)
    [COSTS.privateEventUs, SOURCES.privateEventUs] = [priv.cpu_ms_per_1k, `${from} private`];
  const idle = run.scenarios.find(
    (r) =>
      ['capacity', 'idle'].includes(r.name) && r.target.startsWith('gateway') && r.rss_per_conn_kb,
  );
  if (idle)
    [COSTS.rssPerConnectionKb, SOURCES.rssPerConnectionKb] = [
      idle.rss_per_conn_kb,
      `${from} ${idle.name} ${idle.target}`,
    ];
}

/** A per-batch-size cost at `n` events a call: interpolated in log(n) between measured sizes. */
function atBatch(table, n) {
  const sizes = Object.keys(table)
    .map(Number)
    .sort((a, b) => a - b);
  if (n <= sizes[0]) return table[sizes[0]];
  if (n >= sizes.at(-1)) return table[sizes.at(-1)];
  const hi = sizes.findIndex((s) => s >= n);
  const [a, b] = [sizes[hi - 1], sizes[hi]];
  const t = (Math.log(n) - Math.log(a)) / (Math.log(b) - Math.log(a));
  return table[a] + t * (table[b] - table[a]);
}

function applySet(spec) {
  for (const pair of String(spec).split(',')) {
    const [key, value] = pair.split('=');
    const target = [PROFILE, INSTANCE, REDIS, COSTS].find((o) => key in o);
    if (!target) throw new Error(`unknown --set key: ${key}`);
    target[key] = Number(value);
  }
}

/**
 * The model. Returns every derived figure; `limits` are each resource's use as a share of
 * its budget (1 = saturated), `bottleneck` the one most over (or nearest) its budget.
 */
export function model(p, inst, redis, costs, bus = 'single') {
  const E = p.events;
  const publicEvents = E * (1 - p.privateShare);
  const privateEvents = E * p.privateShare;
  const publicRooms = p.symbols * p.roomsPerSymbol;
  const membersPerRoom = (p.connections * p.roomsPerConnection) / publicRooms;
  const users = (p.connections * p.signedInShare) / p.connectionsPerUser;
  // Events spread evenly over the public rooms: each reaches that room's members.
  const publicDeliveries = publicEvents * membersPerRoom;
  const privateDeliveries = privateEvents * p.connectionsPerUser;
  const deliveries = publicDeliveries + privateDeliveries;
  const b = p.eventsPerCall;
  // Sharded, a script call holds one group's events (one hash slot): fewer a call.
  const bPublic = bus === 'single' ? b : p.shardedEventsPerCall;
  const bPrivate = bus === 'single' ? b : 1;
  // Per event of the profile's mix: public ones are order-book updates or trades.
  const mix = (table, n) =>
    (1 - p.privateShare) *
      (p.bookShare * atBatch(table.book, n) + (1 - p.bookShare) * atBatch(table.trade, n)) +
    p.privateShare * atBatch(table.private, n);
  const publicOnly = (table, n) =>
    p.bookShare * atBatch(table.book, n) + (1 - p.bookShare) * atBatch(table.trade, n);
  const receiveUs = mix(costs.receiveUs, b);
  const receivePublicUs = publicOnly(costs.receiveUs, b);
  const receivePrivateUs = atBatch(costs.receiveUs.private, b);
  const entryUs = mix(costs.entryUs, b);
  const bytesPerEvent = atBatch(costs.streamBytesPerEvent, b);
  // A member gets a public message one by one (`deliveryUs`) unless its room has several a
  // turn (about a millisecond under load), when they leave in one write (`deliveryBurstUs`).
  const eventsPerRoomTurn = publicEvents / publicRooms / 1000;
  const publicUs = eventsPerRoomTurn >= 1 ? costs.deliveryBurstUs : costs.deliveryUs;
  // A private event's delivery: the end-to-end figure less what its entry cost.
  const privateUs = Math.max(
    costs.deliveryUs,
    costs.privateEventUs - atBatch(costs.entryUs.private, b),
  );

  // What one instance of K receives from the bus, whatever its connections. Today: every
  // event. Sharded: the public events of the symbol groups its members need (every group,
  // unless connections are routed to instances by symbol), and the private events of the
  // user groups its signed-in connections belong to.
  const privateGroupShare = (K) =>
    1 - (1 - 1 / p.userGroups) ** ((p.connections * p.signedInShare) / K);
  const publicReceived = () => (bus === 'single' ? 1 : p.publicGroupsReceivedShare) * publicEvents;
  const privateReceived = (K) => (bus === 'single' ? 1 : privateGroupShare(K)) * privateEvents;
  const receivedPerInstance = (K) => publicReceived() + privateReceived(K);

  // Instances: memory; the work (entry, delivery) shared out; the bus tax on every one.
  const memoryK = Math.max(
    Math.ceil((p.connections * costs.rssPerConnectionKb) / 1024 / inst.memoryBudgetMb),
    Math.ceil(p.connections / inst.maxConnections),
  );
  const workUs = E * entryUs + publicDeliveries * publicUs + privateDeliveries * privateUs;
  // The instances the work alone needs, as if the bus cost nothing: a lower bound.
  const workK = Math.max(memoryK, Math.ceil(workUs / 1e6 / inst.cpuBudget));
  const busCpu = (K) =>
    (publicReceived() * receivePublicUs + privateReceived(K) * receivePrivateUs) / 1e6;
  const cpuAt = (K) => busCpu(K) + workUs / 1e6 / K;
  let K = workK;
  let feasible = true;
  while (cpuAt(K) > inst.cpuBudget) {
    // No number of instances helps once the bus alone fills an instance's budget.
    if (K > 1e7 || busCpu(1e9) >= inst.cpuBudget) {
      feasible = false;
      K = workK;
      break;
    }
    K = Math.ceil(K * 1.01) + 1;
  }
  const busBytesPerInstance = receivedPerInstance(K) * bytesPerEvent;

  // Redis. Today one shard runs every event's script and writes every PUBLISH to all K
  // instances (the stream channel, positions and history are all in one hash slot).
  const shards = bus === 'single' ? 1 : redis.shards;
  const publishes = [
    // [events a second, events a call, subscribers of the channel]
    [publicEvents, bPublic, bus === 'single' ? K : Math.max(1, K * p.publicGroupsReceivedShare)],
    [privateEvents, bPrivate, bus === 'single' ? K : Math.max(1, K * privateGroupShare(K))],
  ];
  let redisCpuUs = 0;
  let redisOut = 0;
  let calls = 0;
  for (const [events, perCall, subscribers] of publishes) {
    const callsHere = events / perCall;
    const bytesPerCall = perCall * atBatch(costs.streamBytesPerEvent, perCall);
    calls += callsHere;
    redisCpuUs +=
      events * atBatch(costs.redisUsPerEvent, perCall) +
      callsHere *
        Math.max(0, subscribers - 1) *
        (costs.publishPerSubscriberUs + (bytesPerCall * costs.publishPerSubscriberByteNs) / 1000);
    redisOut += callsHere * subscribers * bytesPerCall;
  }
  // The connection limits' slots: a key per address and per user, on the same Redis today
  // (one client, not a cluster client); refreshed every third of their lifetime, taken at
  // every new connection (its address's, and its user's when signed in).
  const slotKeys = p.connections * p.addressesPerConnection + users;
  const slotCpuUs =
    ((slotKeys * 3000) / p.slotLifetimeMs) * costs.slotRefreshUs +
    (p.connections / p.connectionLifeSec) * (1 + p.signedInShare) * costs.slotTakeUs;
  redisCpuUs += slotCpuUs;
  const redisCpuPerShard = redisCpuUs / 1e6 / shards;
  const redisOutPerShard = redisOut / shards;

  const limits = {
    [BUS_CPU]: busCpu(K) / inst.cpuBudget,
    [BUS_NET]: busBytesPerInstance / 1e6 / inst.busBandwidthMbPerSec,
    [REDIS_CPU]: redisCpuPerShard / redis.cpuBudget,
    [REDIS_NET]: redisOutPerShard / 1e6 / redis.networkMbPerSec,
  };
  const bottleneck = Object.entries(limits).sort((x, y) => y[1] - x[1])[0];
  return {
    bus,
    load: {
      public_events_per_sec: publicEvents,
      private_events_per_sec: privateEvents,
      public_rooms: publicRooms,
      members_per_public_room: Math.round(membersPerRoom),
      signed_in_users: Math.round(users),
      deliveries_per_sec: Math.round(deliveries),
      deliveries_per_connection_per_sec: round(deliveries / p.connections, 1),
    },
    unit_costs_used: {
      events_per_call: b,
      receive_us_per_event: round(receiveUs),
      entry_us_per_event: round(entryUs),
      public_delivery_us: publicUs,
      private_delivery_us: round(privateUs),
      redis_us_per_event: round(atBatch(costs.redisUsPerEvent, b)),
      stream_bytes_per_event: round(bytesPerEvent),
    },
    instances: {
      needed: feasible ? K : null,
      by_memory_and_connections: memoryK,
      by_work_alone: workK,
      connections_per_instance: Math.round(p.connections / K),
      cpu_per_instance: round(cpuAt(K), 3),
      bus_receive_cpu_per_instance: round(busCpu(K), 3),
      bus_events_received_per_instance_per_sec: Math.round(receivedPerInstance(K)),
      bus_mb_per_sec_per_instance: round(busBytesPerInstance / 1e6),
      cluster_cores_for_entry_and_delivery: round(workUs / 1e6),
      cluster_cores_for_the_bus: round(busCpu(K) * K),
      feasible,
    },
    redis: {
      shards,
      instances_subscribed: K,
      script_calls_and_publishes_per_sec: Math.round(calls),
      in_mb_per_sec: round((E * bytesPerEvent) / 1e6),
      out_mb_per_sec_per_shard: round(redisOutPerShard / 1e6),
      cpu_cores_per_shard: round(redisCpuPerShard, 3),
      of_which_connection_slots: round(slotCpuUs / 1e6 / shards, 3),
      slot_keys: Math.round(slotKeys),
    },
    limits: Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, round(v, 3)])),
    bottleneck: { resource: bottleneck[0], use_of_budget: round(bottleneck[1], 2) },
  };
}

const BUS_CPU = 'instance CPU for the cluster bus';
const BUS_NET = 'instance bandwidth for the cluster bus';
const REDIS_CPU = 'Redis CPU (one thread per shard)';
const REDIS_NET = 'Redis outbound bandwidth (per shard)';

/**
 * Each resource's saturation point: the lowest `key` (events, or connections) at which it
 * passes its budget, everything else as given (null: not below 10^9; 0: already at 1). Found
 * by stepping up 2 % at a time, then bisecting: the use is not monotonic everywhere (near the
 * bus's own limit the instances, and so Redis's fan-out, grow without bound, and past it the
 * model falls back to the instances the work alone needs).
 */
export function saturation(p, inst, redis, costs, bus, key = 'events') {
  const out = {};
  for (const resource of [BUS_CPU, BUS_NET, REDIS_CPU, REDIS_NET]) {
    const use = (x) => model({ ...p, [key]: x }, inst, redis, costs, bus).limits[resource];
    if (use(1) > 1) {
      out[resource] = 0;
      continue;
    }
    let lo = 1;
    let hi = 1;
    while (hi < 1e9 && use(hi) <= 1) [lo, hi] = [hi, hi * 1.02];
    if (hi >= 1e9) {
      out[resource] = null;
      continue;
    }
    while (hi / lo > 1.001) {
      const mid = Math.sqrt(lo * hi);
      if (use(mid) > 1) hi = mid;
      else lo = mid;
    }
    out[resource] = Math.round(lo);
  }
  return out;
}

function round(value, digits = 2) {
  return Number(value.toFixed(digits));
}

/** The model at a range of event rates, the rest of the profile as given. */
function sweep(bus) {
  const out = {};
  for (const events of [1000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000]) {
    const r = model({ ...PROFILE, events }, INSTANCE, REDIS, COSTS, bus);
    out[events] = {
      instances: r.instances.needed ?? `none (${r.instances.by_work_alone}+)`,
      bus_cpu_each: r.instances.bus_receive_cpu_per_instance,
      redis_cpu: r.redis.cpu_cores_per_shard,
      redis_out_mb_s: r.redis.out_mb_per_sec_per_shard,
      first: `${r.bottleneck.resource} (${r.bottleneck.use_of_budget})`,
    };
  }
  return out;
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  if (args.inputs) loadInputs(args.inputs);
  if (args.harness) loadHarness(args.harness);
  if (args.set) applySet(args.set);
  const bus = args.bus === 'sharded' ? 'sharded' : 'single';
  const result = model(PROFILE, INSTANCE, REDIS, COSTS, bus);
  // Which saturates first as the event rate grows, and as the connections grow.
  const byEvents = saturation(PROFILE, INSTANCE, REDIS, COSTS, bus, 'events');
  const byConnections = saturation(PROFILE, INSTANCE, REDIS, COSTS, bus, 'connections');
  const first = (table) =>
    Object.entries(table)
      .filter(([, x]) => x !== null)
      .sort((a, b) => a[1] - b[1])[0] ?? ['nothing', null];
  result.saturates_at = {
    events_per_sec: byEvents,
    connections: byConnections,
    first_as_events_grow: first(byEvents)[0],
    first_as_connections_grow: first(byConnections)[0],
  };
  if (args.json) {
    console.log(
      JSON.stringify(
        {
          profile: PROFILE,
          instance: INSTANCE,
          redis: REDIS,
          costs: COSTS,
          sources: SOURCES,
          result,
        },
        null,
        2,
      ),
    );
  } else {
    console.log(`capacity model, bus=${bus}`);
    console.log('\nprofile (assumptions):', PROFILE);
    console.log('instance (assumptions):', INSTANCE);
    console.log('redis (assumptions):', REDIS);
    console.log('\nunit costs and where they were measured:');
    for (const [key, value] of Object.entries(COSTS))
      console.log(`  ${key} = ${JSON.stringify(value)}  <- ${SOURCES[key]}`);
    for (const part of ['load', 'unit_costs_used', 'instances', 'redis', 'limits']) {
      console.log(`\n${part}:`);
      console.table(result[part]);
    }
    console.log(
      `\nmost over its budget here: ${result.bottleneck.resource}, at ${Math.round(result.bottleneck.use_of_budget * 100)} %`,
    );
    console.log(
      `\nwhere each resource reaches its budget (events/s at ${PROFILE.connections} connections; connections at ${PROFILE.events} events/s; null: never):`,
    );
    console.table({ 'events/s': byEvents, connections: byConnections });
    console.log(`first to saturate as events grow: ${result.saturates_at.first_as_events_grow}`);
    console.log(
      `first to saturate as connections grow: ${result.saturates_at.first_as_connections_grow}`,
    );
    if (args.sweep) {
      console.log('\nby events a second (the rest of the profile as above):');
      console.table(sweep(bus));
    }
  }
}
