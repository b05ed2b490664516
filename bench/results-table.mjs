#!/usr/bin/env node
// Prints a results file (default bench/results/latest.json) as the Markdown table the README
// shows: `node bench/results-table.mjs [file]`.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url);
const { machine, node, date, mode, scenarios } = JSON.parse(readFileSync(file, 'utf8'));
const columns = [
  ['scenario', (r) => r.name],
  ['target', (r) => r.target],
  ['clients', (r) => r.clients],
  ['delivered/s', (r) => r.delivered_per_sec],
  ['ratio', (r) => r.delivered_ratio],
  ['p50 ms', (r) => r.p50_ms],
  ['p99 ms', (r) => r.p99_ms],
  ['p999 ms', (r) => r.p999_ms],
  ['connects/s', (r) => r.connects_per_sec],
  ['CPU ms/connect', (r) => r.cpu_ms_per_connect],
  ['KB RSS/conn', (r) => r.rss_per_conn_kb],
  ['KB heap/conn', (r) => r.heap_per_conn_kb],
  ['CPU %', (r) => r.cpu_pct],
  ['CPU ms/1k', (r) => r.cpu_ms_per_1k],
  ['Redis CPU %', (r) => r.redis_cpu_pct],
].filter(
  // Columns newer than a results file are left out rather than printed empty.
  ([name, value]) =>
    !['CPU ms/1k', 'CPU ms/connect', 'Redis CPU %'].includes(name) ||
    scenarios.some((r) => value(r) != null),
);
const cell = (value) =>
  value === undefined || value === null
    ? ''
    : typeof value === 'number'
      ? value.toLocaleString('en-US')
      : String(value);
console.log(
  `${mode === 'full' ? 'Full' : 'Quick'} run of ${date.slice(0, 10)} on ${machine.cpus} × ${machine.cpu}, ${machine.memory_gb} GB, Node ${node}.\n`,
);
console.log(`| ${columns.map(([name]) => name).join(' | ')} |`);
console.log(`|${columns.map(() => ' --- ').join('|')}|`);
for (const row of scenarios) {
  console.log(`| ${columns.map(([, value]) => cell(value(row))).join(' | ')} |`);
}
