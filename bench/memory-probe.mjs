// Preloaded into every benchmarked server (`node --expose-gc --import`): on request from the
// harness, collects garbage and reports memory, so idle-connection figures are not noise.
// SIGTERM ends the process at once, through a normal exit (so --cpu-prof writes its profile).
process.on('SIGTERM', () => process.exit(0));
process.on('message', (message) => {
  if (message !== 'memory') return;
  globalThis.gc?.();
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  process.send({ rss, heapUsed });
});
