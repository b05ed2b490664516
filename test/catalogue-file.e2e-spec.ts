import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { ANY_POSITION, Recorder, command } from './support/gateway-harness.js';
import { startGatewayProcess } from './support/gateway-process.js';
import { runUntilExit } from './support/processes.js';

const MAIN = 'dist/apps/gateway/src/main.js';
const PUBLISH_KEY = 'catalogue-file-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'catalogue-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an operator catalogue file (CATALOGUE_FILE) in the built gateway', () => {
  it('adds its events to subscribe, publish and delivery', async () => {
    const file = join(dir, 'events.yaml');
    writeFileSync(
      file,
      `events:
  - event: liquidation
    routing: symbol
    channel: liquidations
    fields:
      side: { type: side, required: true }
      quantity: decimal
`,
    );
    const { url, process: gateway } = await startGatewayProcess({
      CATALOGUE_FILE: file,
      PUBLISH_API_KEY: PUBLISH_KEY,
    });
    const socket = io(`${url}/ws`, { transports: ['websocket'] });
    try {
      const recorder = new Recorder(socket);
      await recorder.waitFor('connected');
      expect(
        await command(socket, 'subscribe', { channel: 'liquidations', symbol: 'BTCUSDT' }),
      ).toEqual({ ok: true, channel: 'liquidations', symbol: 'BTCUSDT', position: ANY_POSITION });
      const post = (data: unknown) =>
        fetch(`${url}/api/publish`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ event: 'liquidation', data }),
        });
      expect((await post({ symbol: 'BTCUSDT', quantity: '2' })).status).toBe(400);
      expect((await post({ symbol: 'BTCUSDT', side: 'sell', quantity: '2' })).status).toBe(202);
      const [liquidation] = await recorder.waitFor('liquidation');
      expect(liquidation).toMatchObject({
        channel: 'liquidations',
        event: 'liquidation',
        symbol: 'BTCUSDT',
        data: { side: 'sell', quantity: '2' },
      });
    } finally {
      socket.disconnect();
      await gateway.stop();
    }
  });

  it('stops start-up with one line naming the file, the event and the field', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        events: [
          { event: 'mark.price', routing: 'symbol', channel: 'mark', fields: { mark: 'money' } },
        ],
      }),
    );
    const { code, stdout, stderr } = await runUntilExit(
      spawn(process.execPath, [MAIN], { env: { ...process.env, CATALOGUE_FILE: file } }),
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `realtime-gateway: invalid configuration: CATALOGUE_FILE ${file}: events[0] (mark.price).fields.mark.type must be one of symbol, interval, id, decimal, string, integer, number, boolean, side, levels, got "money"\n`,
    );
  });
});
