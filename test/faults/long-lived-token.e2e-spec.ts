import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command, sleep } from '../support/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { TEST_SECRET, hsToken } from '../support/tokens.js';

const DAY_SECONDS = 24 * 60 * 60;

/**
 * A token expiring more than 24.8 days ahead armed the shared expiry timer past what
 * setTimeout holds: Node fired it after 1 ms, warned, and the scheduler armed it again, a
 * storm of TimeoutOverflowWarning (4,222 in 5 s) for as long as the connection lived. The
 * built gateway runs as its own process so its warnings are its own output.
 */
describe('a token that expires 60 days ahead (built gateway)', () => {
  let gateway: GatewayProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    gateway = await startGatewayProcess({ JWT_SECRET: TEST_SECRET, JWT_CLOCK_SKEW_SECONDS: '0' });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await gateway.process.stop();
  });

  const connect = async (token: string) => {
    const socket = io(`${gateway.url}/ws`, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token },
    });
    sockets.push(socket);
    const greeting = await new Promise<{ userId: string }>((resolve, reject) => {
      socket.once('connected', resolve);
      socket.once('connect_error', reject);
    });
    return { socket, greeting };
  };

  it('connects and refreshes without a TimeoutOverflowWarning, and a short token still expires on time', async () => {
    const far = await connect(hsToken('alice', { ttlSeconds: 60 * DAY_SECONDS }));
    expect(far.greeting.userId).toBe('alice');
    const refreshed = await command(far.socket, 'auth.refresh', {
      token: hsToken('alice', { ttlSeconds: 90 * DAY_SECONDS }),
    });
    expect(refreshed).toEqual({ ok: true, expiresAt: expect.any(Number) });

    const near = await connect(hsToken('bob', { ttlSeconds: 2 }));
    const expired = new Recorder(near.socket, ['auth.expired']);
    await expired.waitFor('auth.expired', 1, 10_000);
    await sleep(200);

    expect(gateway.process.output()).not.toContain('TimeoutOverflowWarning');
    expect(far.socket.connected).toBe(true);
    await command(far.socket, 'ping');
  });
});
