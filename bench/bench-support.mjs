// What the bench scripts share: ports, waiting, CPU readings, a Redis and a built gateway of
// their own (loopback only).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createClient } from 'redis';

export const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const turn = () => new Promise((resolve) => setImmediate(resolve));

export async function waitFor(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A process's CPU seconds so far, from /proc. */
export const cpuSecondsOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
};
/** Bytes a process has read and written so far (sockets and pipes included), from /proc. */
export const ioBytesOf = (pid) => {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return {
    read: Number(/^rchar: (\d+)/m.exec(io)[1]),
    written: Number(/^wchar: (\d+)/m.exec(io)[1]),
  };
};
export const ownCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** A redis-server of the bench's own on a free port, keeping nothing on disk. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const admin = createClient({ url, socket: { reconnectStrategy: false } });
  admin.on('error', () => undefined);
  await waitFor(
    () =>
      admin.connect().then(
        () => true,
        () => false,
      ),
    `redis-server on ${port}`,
    10_000,
  );
  return {
    url,
    port,
    admin,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    async reset() {
      await admin.sendCommand(['FLUSHDB']);
      await this.resetStats();
    },
    async resetStats() {
      await admin.sendCommand(['CONFIG', 'RESETSTAT']);
    },
    /** The positioning script's calls and time since the last reset. */
    async script() {
      const info = String(await admin.sendCommand(['INFO', 'commandstats']));
      const match = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(info);
      return match ? { calls: Number(match[1]), usec: Number(match[2]) } : { calls: 0, usec: 0 };
    },
    async stop() {
      await admin.quit().catch(() => undefined);
      child.kill('SIGKILL');
    },
  };
}

/**
 * The built gateway (`npm run build` first) on a free port, ready; `BENCH_SERVER_FLAGS` are
 * node flags for it (e.g. `--cpu-prof`).
 */
export async function startGateway(env, publishKey) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
      'dist/apps/gateway/src/main.js',
    ],
    {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLISH_API_KEY: publishKey,
        LOG_LEVEL: 'error',
        TICKER_CONFLATION_MS: '0',
        ...env,
      },
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => (await fetch(`${url}/health/ready`).catch(() => ({ status: 0 }))).status === 200,
      'readiness',
    );
  } catch (error) {
    // The caller never gets a handle to stop it: it must not outlive the failure.
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    /** For a caller that must kill it on any exit (`stop` is the orderly way). */
    pid: child.pid,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
