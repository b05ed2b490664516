import { until } from './gateway-harness.js';
import { freePort, startProcess, type RunningProcess } from './processes.js';

/** The built gateway (`npm run start:gateway`) as a child process on a free loopback port. */
export interface GatewayProcess {
  url: string;
  process: RunningProcess;
}

const MAIN = 'dist/apps/gateway/src/main.js';

/** Starts the built gateway with `env` and waits until it listens (and, unless told not to, is ready). */
export async function startGatewayProcess(
  env: Record<string, string>,
  { waitForReady = true, readyTimeoutMs = 60_000 } = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const process = await startProcess(
    MAIN,
    { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    /listening on/,
  );
  const url = `http://127.0.0.1:${port}`;
  if (waitForReady)
    await until(
      async () => (await fetch(`${url}/health/ready`)).status === 200,
      readyTimeoutMs,
      `the gateway on ${port} to be ready`,
    );
  return { url, process };
}

/** The value of one Prometheus series the gateway serves, 0 when absent. */
export async function metricValue(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
