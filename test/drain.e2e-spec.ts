import { afterEach, describe, expect, it } from '@jest/globals';
import { ConnectionDrain } from '#realtime';
import { GatewayHarness } from './support/gateway-harness.js';

describe('drain and HTTP answers of the standalone gateway', () => {
  let gateway: GatewayHarness | undefined;

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  it('does not wait half the drain time when no connection is left', async () => {
    gateway = await GatewayHarness.start();
    const started = Date.now();
    await gateway.app.get(ConnectionDrain).drain(10_000);
    // A correctness bound, far below the 5 s the drain used to wait for nobody.
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('ends as soon as every client has left after server.shutdown', async () => {
    gateway = await GatewayHarness.start();
    const clients = await Promise.all([gateway.connect(), gateway.connect()]);
    for (const client of clients) client.on('server.shutdown', () => client.disconnect());
    const started = Date.now();
    await gateway.app.get(ConnectionDrain).drain(10_000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(clients.every((client) => !client.connected)).toBe(true);
  });

  it('does not name its framework in answers', async () => {
    gateway = await GatewayHarness.start();
    const response = await fetch(`${gateway.url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-powered-by')).toBeNull();
  });
});
