#!/usr/bin/env node
// What one idle connection holds in the gateway's heap, by kind of object: the built gateway
// (`npm run build` first) takes a heap snapshot (after a GC) without clients and another with
// N idle connections of one face (the JSON face, with a token at the door, or Socket.IO with a
// JWT), from one load worker over loopback; the difference is printed per connection, by V8
// type and constructor name (closures by script, line and column, for finding the listeners
// a connection costs). Memory only, no timing.
//   [IDLE_SECONDS=1] node bench/heap-per-connection.mjs [connections=2000] [json|socket.io]
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './bench-support.mjs';

const CONNECTIONS = Number(process.argv[2] ?? 2000);
const FACE = process.argv[3] ?? 'json';
/** A constructor name: prints what holds the first few objects of it (`RETAINERS=IncomingMessage`). */
const RETAINERS = process.env.RETAINERS;
/**
 * How long the connections sit idle before the second snapshot (`IDLE_SECONDS=35` lets each
 * answer a heartbeat first, for what a connection keeps at length).
 */
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 1);
if (!['json', 'socket.io'].includes(FACE)) throw new Error(`face: json or socket.io, not ${FACE}`);
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef';

const directory = mkdtempSync(join(tmpdir(), 'heap-per-connection-'));
const port = await freePort();
const gateway = spawn(
  process.execPath,
  [
    `--diagnostic-dir=${directory}`,
    '--heapsnapshot-signal=SIGUSR2',
    'dist/apps/gateway/src/main.js',
  ],
  {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLISH_API_KEY: 'bench-publish-key-0123456789',
      JWT_SECRET,
      LOG_LEVEL: 'error',
      MAX_CONNECTIONS_PER_IP: '0',
      MAX_CONNECTIONS_PER_USER: '0',
      NEW_CONNECTIONS_PER_IP_PER_MINUTE: '0',
    },
  },
);
let worker;
process.on('exit', () => {
  worker?.kill('SIGKILL');
  gateway.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});
const answers = () =>
  fetch(`http://127.0.0.1:${port}/`).then(
    () => true,
    () => false,
  );
for (let i = 0; !(await answers()); i++) {
  if (i === 300) throw new Error(`the gateway does not answer on ${port}`);
  await sleep(100);
}

/** Asks the gateway for a snapshot; it is written once the gateway answers HTTP again. */
async function snapshot() {
  const before = readdirSync(directory).length;
  gateway.kill('SIGUSR2');
  for (;;) {
    await sleep(200);
    const files = readdirSync(directory).filter((file) => file.endsWith('.heapsnapshot'));
    if (files.length > before && (await answers())) return join(directory, files.sort().at(-1));
  }
}

/** Objects by kind: count and self size, from a `.heapsnapshot` file. */
function kinds(file) {
  const heap = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields, node_types, edge_fields, edge_types, location_fields } = heap.snapshot.meta;
  const nodeSize = node_fields.length;
  const edgeSize = edge_fields.length;
  const [type, name, selfSize, edgeCount] = ['type', 'name', 'self_size', 'edge_count'].map(
    (field) => node_fields.indexOf(field),
  );
  const [edgeType, edgeName, toNode] = ['type', 'name_or_index', 'to_node'].map((field) =>
    edge_fields.indexOf(field),
  );
  const firstEdge = new Uint32Array(heap.nodes.length / nodeSize);
  for (let node = 0, edge = 0; node < firstEdge.length; node++) {
    firstEdge[node] = edge;
    edge += heap.nodes[node * nodeSize + edgeCount] * edgeSize;
  }
  /** The node an edge called `wanted` leads to from `node` (a node index), if any. */
  const follow = (node, wanted) => {
    for (let k = 0; k < heap.nodes[node * nodeSize + edgeCount]; k++) {
      const edge = firstEdge[node] + k * edgeSize;
      const kind = edge_types[0][heap.edges[edge + edgeType]];
      if (kind === 'element' || kind === 'hidden') continue;
      if (heap.strings[heap.edges[edge + edgeName]].startsWith(wanted))
        return heap.edges[edge + toNode] / nodeSize;
    }
    return undefined;
  };
  const scripts = new Map();
  const scriptOf = (closure, scriptId) => {
    if (!scripts.has(scriptId)) {
      const shared = follow(closure, 'shared');
      const script = shared === undefined ? undefined : follow(shared, 'script');
      const source = script === undefined ? undefined : follow(script, 'name');
      const url = source === undefined ? '?' : heap.strings[heap.nodes[source * nodeSize + name]];
      scripts.set(scriptId, url.replace(/^.*\/(node_modules|dist)\//, ''));
    }
    return scripts.get(scriptId);
  };
  const places = new Map();
  const locationSize = location_fields.length;
  for (let i = 0; i < heap.locations.length; i += locationSize) {
    const [offset, scriptId, line, column] = heap.locations.slice(i, i + 4);
    places.set(offset, [scriptId, line + 1, column]);
  }
  if (RETAINERS)
    printRetainers(heap, RETAINERS, {
      nodeSize,
      edgeSize,
      type,
      name,
      edgeType,
      edgeName,
      toNode,
      edgeCount,
      node_types,
      edge_types,
    });
  const result = new Map();
  for (let offset = 0; offset < heap.nodes.length; offset += nodeSize) {
    const kind = node_types[0][heap.nodes[offset + type]];
    let label = heap.strings[heap.nodes[offset + name]];
    if (kind.endsWith('string') || kind === 'number') label = '';
    if (kind === 'closure') {
      // A bound function is named by what it binds (`fn.bind(this)` per connection).
      const bound =
        label === 'native_bind' ? follow(offset / nodeSize, 'bound_function') : undefined;
      const at = bound === undefined ? offset : bound * nodeSize;
      const place = places.get(at);
      const where = place ? `${scriptOf(at / nodeSize, place[0])}:${place[1]}:${place[2]}` : '';
      const target = bound === undefined ? label : `bound ${heap.strings[heap.nodes[at + name]]}`;
      label = `${target || '(anonymous)'} ${where}`;
    }
    const key = `${kind} ${label}`.slice(0, 110);
    const entry = result.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += heap.nodes[offset + selfSize];
    result.set(key, entry);
  }
  return result;
}

/** The chains of references that keep three objects named `wanted` alive, five links deep. */
function printRetainers(heap, wanted, f) {
  const nodes = heap.nodes.length / f.nodeSize;
  const retainers = Array.from({ length: nodes }, () => []);
  for (let node = 0, edge = 0; node < nodes; node++) {
    for (let k = 0; k < heap.nodes[node * f.nodeSize + f.edgeCount]; k++, edge += f.edgeSize) {
      const kind = f.edge_types[0][heap.edges[edge + f.edgeType]];
      if (kind === 'weak') continue;
      const label =
        kind === 'element' || kind === 'hidden'
          ? `[${heap.edges[edge + f.edgeName]}]`
          : heap.strings[heap.edges[edge + f.edgeName]];
      retainers[heap.edges[edge + f.toNode] / f.nodeSize].push([node, label]);
    }
  }
  const nameOf = (node) =>
    `${f.node_types[0][heap.nodes[node * f.nodeSize + f.type]]} ${heap.strings[heap.nodes[node * f.nodeSize + f.name]]}`.slice(
      0,
      60,
    );
  let shown = 0;
  let seenOfName = 0;
  for (let node = 0; node < nodes && shown < 2; node++) {
    if (heap.strings[heap.nodes[node * f.nodeSize + f.name]] !== wanted) continue;
    if (f.node_types[0][heap.nodes[node * f.nodeSize + f.type]] !== 'object') continue;
    // The first few are prototypes and the like; the connections' come later.
    if (++seenOfName <= 10) continue;
    shown++;
    console.log(`what holds ${nameOf(node)}:`);
    const walk = (at, depth, seen) => {
      if (depth === 5) return;
      for (const [from, label] of retainers[at].slice(0, 4)) {
        if (seen.has(from)) continue;
        console.log(`${'  '.repeat(depth + 1)}<- .${label} of ${nameOf(from)}`);
        walk(from, depth + 1, new Set([...seen, from]));
      }
    };
    walk(node, 0, new Set([node]));
  }
}

const empty = kinds(await snapshot());
const url =
  FACE === 'json'
    ? `ws://127.0.0.1:${port}/ws/json`
    : `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
worker = fork(new URL('./load-worker.mjs', import.meta.url).pathname, [
  JSON.stringify({
    targets: [{ url }],
    connections: CONNECTIONS,
    firstAddress: 2,
    protocol: FACE,
    jwtSecret: JWT_SECRET,
    firstUser: 1,
  }),
]);
const report = () =>
  new Promise((resolve) => {
    worker.once('message', resolve);
    worker.send('report');
  });
await new Promise((resolve) => worker.once('message', resolve));
worker.send('connect');
const started = Date.now();
while ((await report()).ready < CONNECTIONS) {
  if (Date.now() - started > 120_000) throw new Error('the connections did not all join');
  await sleep(200);
}
await sleep(IDLE_SECONDS * 1000);
const loaded = kinds(await snapshot());

let total = 0;
const rows = [];
for (const [key, { count, bytes }] of loaded) {
  const before = empty.get(key) ?? { count: 0, bytes: 0 };
  const grown = bytes - before.bytes;
  const more = count - before.count;
  total += grown;
  // What about every connection has (or that weighs 16 bytes a connection or more).
  if (more >= CONNECTIONS * 0.9 || grown >= CONNECTIONS * 16) {
    rows.push({
      kind: key,
      per_connection: Number((more / CONNECTIONS).toFixed(2)),
      bytes_per_connection: Math.round(grown / CONNECTIONS),
    });
  }
}
rows.sort((a, b) => b.bytes_per_connection - a.bytes_per_connection);
console.log(
  `${FACE}: ${CONNECTIONS} idle connections, heap (self sizes) ${Math.round(total / CONNECTIONS)} bytes a connection`,
);
console.table(rows);
worker.send('stop');
process.exit(0);
