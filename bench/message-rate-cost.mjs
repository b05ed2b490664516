#!/usr/bin/env node
// Why the per-connection message rate is a token bucket on the socket and not
// rate-limiter-flexible: the cost of one flooding connection's messages both ways.
//   node bench/message-rate-cost.mjs
import { RateLimiterMemory } from 'rate-limiter-flexible';

const FLOOD = 100_000;
const limiter = new RateLimiterMemory({ points: 20, duration: 1 });
let started = process.hrtime.bigint();
let refused = 0;
for (let i = 0; i < FLOOD; i++) await limiter.consume('flood').catch(() => refused++);
const libraryMs = Number(process.hrtime.bigint() - started) / 1e6;

let tokens = 20;
let refilledAt = Date.now();
let refusedByBucket = 0;
started = process.hrtime.bigint();
for (let i = 0; i < FLOOD; i++) {
  const now = Date.now();
  tokens = Math.min(20, tokens + (now - refilledAt) * 0.01);
  refilledAt = now;
  if (tokens >= 1) tokens -= 1;
  else refusedByBucket++;
}
const bucketMs = Number(process.hrtime.bigint() - started) / 1e6;
console.log(`${FLOOD} messages from one flooding connection (node ${process.version}):`);
console.table({
  'rate-limiter-flexible (memory)': { ms: libraryMs.toFixed(1), refused },
  'token bucket on the socket': { ms: bucketMs.toFixed(1), refused: refusedByBucket },
});
