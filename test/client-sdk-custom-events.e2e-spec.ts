import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeEmitter } from '#realtime';
import { RealtimeClient, type Gap } from '../libs/client/src/index.js';
import { realtimeHooks } from '../libs/client/src/react/index.js';
import { GatewayHarness, until } from './support/gateway-harness.js';
import { freePort } from './support/processes.js';
import { HOST_EVENTS, type HostPayloads } from './support/host-events.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const clients: Array<RealtimeClient<HostPayloads>> = [];
const gateways: GatewayHarness[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const gateway of gateways.splice(0)) await gateway.stop();
});

async function gateway(port = 0): Promise<GatewayHarness> {
  const started = await GatewayHarness.start(
    { auth: { secret: TEST_SECRET }, events: HOST_EVENTS },
    {},
    port,
  );
  gateways.push(started);
  return started;
}

/** A client typed by the host catalogue, signed in as `ada`, with what it receives written down. */
async function client(url: string) {
  const sdk = new RealtimeClient<HostPayloads>({ url, token: hsToken('ada', { ttlSeconds: 600 }) });
  clients.push(sdk);
  const seen = { funding: [] as string[], prices: [] as string[], portfolio: [] as string[] };
  const gaps: Gap[] = [];
  sdk.on('funding.rate', (envelope) =>
    seen.funding.push(
      `${envelope.symbol} ${envelope.data.rate}${envelope.replay ? ' replay' : ''}`,
    ),
  );
  sdk.on('price.update', (envelope) =>
    seen.prices.push(`${envelope.data.chain} ${envelope.data.price}`),
  );
  sdk.on('portfolio.update', (envelope) => seen.portfolio.push(envelope.data.equity));
  sdk.onGap((gap) => gaps.push(gap));
  await until(() => sdk.state.value === 'connected', 5000, 'connected');
  return { sdk, seen, gaps };
}

async function subscribeAll(sdk: RealtimeClient<HostPayloads>) {
  return [
    await sdk.subscribe({ channel: 'funding', symbol: 'btcusdt' }),
    await sdk.subscribe({ channel: 'prices', symbol: 'ETHUSDT', chain: '1' }),
    await sdk.subscribe({ channel: 'prices', symbol: 'ETHUSDT', chain: '137' }),
    await sdk.subscribe({ channel: 'user.portfolio' }),
  ];
}

/** One event of each room, twice over, the two chains' rooms interleaved. */
function publishRound(realtime: RealtimeEmitter<HostPayloads>, round: number) {
  realtime.emit('funding.rate', { symbol: 'BTCUSDT', rate: `0.000${round}` });
  for (const step of [1, 2]) {
    realtime.emit('price.update', { symbol: 'ETHUSDT', chain: '1', price: `${round}00${step}` });
    realtime.emit('price.update', { symbol: 'ETHUSDT', chain: '137', price: `${round}37${step}` });
  }
  realtime.emit('portfolio.update', { userId: 'bob', equity: '1' });
  realtime.emit('portfolio.update', { userId: 'ada', equity: `${round}250.5` });
}

describe('client SDK typed by a host catalogue, against the real gateway', () => {
  it('subscribes to host channels, keyed ones by their key, and hands over typed events room by room', async () => {
    const server = await gateway();
    const realtime = new RealtimeEmitter<HostPayloads>(server.emitter);
    realtime.emit('funding.rate', { symbol: 'BTCUSDT', rate: '0.0009' });
    const { sdk, seen, gaps } = await client(server.url);

    const position = { offset: expect.any(Number), epoch: expect.any(String) };
    expect(await subscribeAll(sdk)).toEqual([
      { ok: true, channel: 'funding', symbol: 'BTCUSDT', position },
      { ok: true, channel: 'prices', symbol: 'ETHUSDT', chain: '1', position },
      { ok: true, channel: 'prices', symbol: 'ETHUSDT', chain: '137', position },
      { ok: true, channel: 'user.portfolio', position },
    ]);
    publishRound(realtime, 1);
    await until(
      () => seen.funding.length === 2 && seen.prices.length === 4 && seen.portfolio.length === 1,
      3000,
      'every host event',
    );
    expect(seen.funding).toEqual(['BTCUSDT 0.0009 replay', 'BTCUSDT 0.0001']);
    expect(seen.prices.filter((p) => p.startsWith('1 '))).toEqual(['1 1001', '1 1002']);
    expect(seen.prices.filter((p) => p.startsWith('137 '))).toEqual(['137 1371', '137 1372']);
    expect(seen.portfolio).toEqual(['1250.5']);
    // Each chain is a room of its own with its own offsets: none of them skipped one.
    expect(gaps).toEqual([]);

    await sdk.unsubscribe({ channel: 'prices', symbol: 'ETHUSDT', chain: '1' });
    publishRound(realtime, 2);
    await until(() => seen.portfolio.length === 2, 3000, 'the second round');
    expect(seen.prices.slice(4)).toEqual(['137 2371', '137 2372']);
    expect(gaps).toEqual([]);
  });

  it('resubscribes every host channel, each with its key, after the server restarts', async () => {
    const port = await freePort();
    let server = await gateway(port);
    const { sdk, seen, gaps } = await client(server.url);
    await subscribeAll(sdk);
    let resubscribed = 0;
    sdk.onResubscribed(() => resubscribed++);

    await server.stop();
    gateways.splice(gateways.indexOf(server), 1);
    await until(() => sdk.state.value === 'reconnecting', 5000, 'reconnecting');
    server = await gateway(port);
    await until(() => resubscribed === 1, 15_000, 'the resubscription');
    publishRound(new RealtimeEmitter<HostPayloads>(server.emitter), 3);
    await until(
      () => seen.funding.length === 1 && seen.prices.length === 4 && seen.portfolio.length === 1,
      3000,
      'every host event after the restart',
    );
    expect(seen.funding).toEqual(['BTCUSDT 0.0003']);
    expect([...seen.prices].sort()).toEqual(['1 3001', '1 3002', '137 3371', '137 3372']);
    expect(seen.portfolio).toEqual(['3250.5']);
    expect(gaps).toEqual([]);
  }, 30_000);
});

/** Checked by `npm run typecheck`, never run: the host catalogue types events and channels. */
export function typingOfHostEvents(
  typed: RealtimeClient<HostPayloads>,
  builtInOnly: RealtimeClient,
): void {
  typed.on('funding.rate', (envelope) => {
    const rate: string = envelope.data.rate;
    // @ts-expect-error a decimal field is a string, never a number
    const asNumber: number = envelope.data.rate;
    void [rate, asNumber];
  });
  typed.on('price.update', (envelope) => void (envelope.data.chain satisfies string | number));
  typed.on('tickers.update', (envelope) => void envelope.data.tickers);
  // @ts-expect-error no such event in the host catalogue
  typed.on('funding.rates', () => undefined);
  // @ts-expect-error a client typed by the built-in catalogue knows no host event
  builtInOnly.on('funding.rate', () => undefined);
  // @ts-expect-error a public channel needs a symbol, a private one starts with "user."
  void typed.subscribe({ channel: 'portfolio' });

  const hooks = realtimeHooks<HostPayloads>();
  const [funding] = hooks.useChannel({ channel: 'funding', symbol: 'BTCUSDT' }, 'funding.rate');
  const rate: string | undefined = funding?.data.rate;
  // @ts-expect-error the hooks are typed by the same catalogue
  hooks.useChannel({ channel: 'user.portfolio' }, 'portfolio.updated');
  void rate;
}
