import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { io } from 'socket.io-client';
import { freePort, runUntilExit, startProcess } from './support/processes.js';

const MAIN = 'dist/apps/gateway/src/main.js';

describe('standalone gateway process (npm run start:gateway)', () => {
  it('is built', () => {
    expect(existsSync(MAIN)).toBe(true);
  });

  it.each([
    [
      { PORT: 'abc' },
      'realtime-gateway: invalid configuration: PORT must be an integer from 0 to 65535, got "abc"',
    ],
    [
      { JWT_SECRET: 'too-short' },
      'realtime-gateway: invalid configuration: JWT_SECRET must be at least 32 characters',
    ],
    [
      { CORS_ORIGINS: 'example.com' },
      'realtime-gateway: invalid configuration: CORS_ORIGINS entry "example.com" must be scheme://host[:port]',
    ],
    [
      { SYMBOLS: 'btc' },
      'realtime-gateway: invalid configuration: SYMBOLS entry "btc" must match /^[A-Z0-9][A-Z0-9._/-]{0,31}$/',
    ],
  ])('stops on %j with one clear line', async (env, line) => {
    const { code, stdout, stderr } = await runUntilExit(
      spawn(process.execPath, [MAIN], { env: { ...process.env, ...env } }),
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(line + '\n');
  });

  it('serves /health and the /ws namespace on PORT and HOST', async () => {
    const port = await freePort();
    const gateway = await startProcess(
      MAIN,
      { PORT: String(port), HOST: '127.0.0.1' },
      /listening on/,
    );
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
      const socket = io(`http://127.0.0.1:${port}/ws`, {
        transports: ['websocket'],
        reconnection: false,
      });
      const greeting = await new Promise<any>((resolve, reject) => {
        socket.once('connected', resolve);
        socket.once('connect_error', reject);
      });
      socket.disconnect();
      expect(greeting.userId).toBeNull();
    } finally {
      await gateway.stop();
    }
  });

  it('exits 0 on SIGTERM with a WebSocket client and an idle keep-alive HTTP connection open, closing both', async () => {
    const port = await freePort();
    const gateway = await startProcess(
      MAIN,
      { PORT: String(port), HOST: '127.0.0.1', DRAIN_TIMEOUT_MS: '2000' },
      /listening on/,
    );
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      // One answered request leaves its connection open and idle in the agent.
      const keptAlive = await new Promise<import('node:net').Socket>((resolve, reject) => {
        const request = get(`http://127.0.0.1:${port}/health`, { agent }, (response) => {
          response.resume();
          response.once('end', () => resolve(request.socket!));
        });
        request.once('error', reject);
      });
      const closed = new Promise<void>((resolve) => keptAlive.once('close', () => resolve()));
      const socket = io(`http://127.0.0.1:${port}/ws`, {
        transports: ['websocket'],
        reconnection: false,
      });
      await new Promise((resolve, reject) => {
        socket.once('connected', resolve);
        socket.once('connect_error', reject);
      });
      const left = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      expect(await gateway.stop()).toBe(0);
      await closed;
      expect(await left).toBe('io server disconnect');
    } finally {
      agent.destroy();
    }
  });
});
