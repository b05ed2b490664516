import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { freePort, startProcess, type RunningProcess } from './processes.js';

/** The built demo (`npm start`) as a child process on a free loopback port. */
export interface DemoProcess {
  process: RunningProcess;
  port: number;
  url: string;
}

/** Starts it on `port`, or on a free one. */
export async function startDemo(port?: number): Promise<DemoProcess> {
  port ??= await freePort();
  const process = await startProcess(
    'dist/apps/demo/src/main.js',
    { PORT: String(port), HOST: '127.0.0.1' },
    /live market on/,
  );
  return { process, port, url: `http://127.0.0.1:${port}` };
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's headless Chromium, driven by playwright-core. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
