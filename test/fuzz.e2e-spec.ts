import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { GatewayHarness, sleep } from './support/gateway-harness.js';
import { TEST_SECRET } from './support/tokens.js';

let gateway: GatewayHarness;
beforeAll(async () => {
  gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET } });
});
afterAll(async () => {
  await gateway.stop();
});
async function run(frames: string[]) {
  const ws = new WebSocket(gateway.url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket');
  const log: string[] = [];
  ws.on('message', (d) => log.push('< ' + String(d).slice(0, 150)));
  ws.on('close', (c) => log.push('close ' + c));
  await new Promise((r) => ws.once('open', r));
  await sleep(30);
  for (const f of frames) { log.push('> ' + f); ws.send(f); await sleep(30); }
  await sleep(100);
  ws.terminate();
  console.log(log.join('\n'));
}
it('probe', async () => {
  const sock = await gateway.connect();
  console.log('listeners', (sock as any).id);
  await run(['40/ws,', '42/ws,["error","boom"]', '42/ws,1["ping"]']);
  await run(['40/ws,', '42/ws,["error"]', '42/ws,1["ping"]']);
  await run(['40/ws,', '40/ws,', '42/ws,1["ping"]']);
  await run(['40/ws,', '42/ws,2["error",{"x":1}]', '42/ws,1["ping"]']);
  const r = await fetch(gateway.url + '/health');
  console.log('health', r.status);
  expect(1).toBe(1);
});
