import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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
});
