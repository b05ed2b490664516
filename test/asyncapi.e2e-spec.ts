import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import { request } from 'node:http';
import { RealtimeCatalogue, RealtimeEmitter, type CataloguePayloads } from '#realtime';
import { HOST_EVENTS } from './support/host-events.js';
import { GatewayHarness, Recorder, command } from './support/gateway-harness.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

/** GET on the gateway with headers fetch will not send (Host, X-Forwarded-*). */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: text.startsWith('{') ? JSON.parse(text) : text,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function parsed(input: unknown): Promise<AsyncAPIDocumentInterface> {
  const { document, diagnostics } = await new Parser().parse(input as never);
  const errors = diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Error)
    .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
  expect(errors).toEqual([]);
  return document!;
}

describe('GET /asyncapi.json on the standalone gateway', () => {
  let gateway: GatewayHarness;
  let answer: { status: number; type: string; body: any };
  let document: AsyncAPIDocumentInterface;
  // Parsed schemas carry the parser's own `x-parser-*` keywords: not strict about unknown ones.
  const ajv = new Ajv({ strict: false });
  const checks = new Map<string, ValidateFunction>();
  /** Whether a message the gateway really sent matches the document's schema for it. */
  const matches = (name: string, payload: unknown) => {
    let check = checks.get(name);
    if (!check) {
      const message = document.components().messages().get(name);
      if (!message) throw new Error(`the document has no message ${name}`);
      check = ajv.compile(message.payload()!.json() as object);
      checks.set(name, check);
    }
    return [name, check(payload), check.errors ?? null];
  };

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET }, events: HOST_EVENTS });
    answer = await get(`${gateway.url}/asyncapi.json`);
    document = await parsed(answer.body);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
  });

  it('answers a valid AsyncAPI 3.0 document as JSON', () => {
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^application\/json/);
    expect(document.version()).toBe('3.0.0');
  });

  it('has every event of the running gateway’s merged catalogue as a message', () => {
    const events = [...gateway.app.get(RealtimeCatalogue).events()].map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(HOST_EVENTS.map((e) => e.event)));
    const messages = document
      .components()
      .messages()
      .all()
      .map((m) => m.name());
    expect(messages).toEqual(expect.arrayContaining(events));
    const received = new Set(
      document
        .operations()
        .all()
        .filter((o) => o.isReceive())
        .flatMap((o) =>
          o
            .messages()
            .all()
            .map((m) => m.id()),
        ),
    );
    expect(events.filter((event) => !received.has(event))).toEqual([]);
  });

  it('names the server the request came to, on the gateway’s namespace', () => {
    const host = new URL(gateway.url).host;
    expect(answer.body.servers).toEqual({
      gateway: expect.objectContaining({ host, protocol: 'ws', pathname: '/ws' }),
    });
  });

  it('describes what the gateway really sends and accepts on a live connection', async () => {
    const socket = await gateway.connect({ auth: { token: hsToken('alice') } });
    expect(matches('connected', gateway.greeting(socket))).toEqual(['connected', true, null]);
    const events = new Recorder(socket);
    const subscriptions = [
      { channel: 'prices', symbol: 'ethusdt', chain: '137' },
      { channel: 'funding', symbol: 'BTC-PERP' },
      { channel: 'klines', symbol: 'BTCUSDT', interval: '1m' },
    ];
    for (const body of subscriptions) {
      expect(matches('subscribe', body)).toEqual(['subscribe', true, null]);
      expect(matches('subscribed', await command(socket, 'subscribe', body))).toEqual([
        'subscribed',
        true,
        null,
      ]);
    }
    const privately = { channel: 'user.portfolio' };
    expect(matches('subscribe.private', privately)).toEqual(['subscribe.private', true, null]);
    const ack = await command(socket, 'subscribe.private', privately);
    expect(matches('subscribed', ack)).toEqual(['subscribed', true, null]);
    const refused = await command(socket, 'subscribe', {
      channel: 'prices',
      symbol: 'X',
      chain: '2',
    });
    expect(refused).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(matches('error', refused)).toEqual(['error', true, null]);
    expect(matches('subscribe', { channel: 'prices', symbol: 'X', chain: '2' })[1]).toBe(false);
    expect(matches('pong', await command(socket, 'ping'))).toEqual(['pong', true, null]);

    const realtime = new RealtimeEmitter<CataloguePayloads<typeof HOST_EVENTS>>(gateway.emitter);
    realtime.emit('price.update', { symbol: 'ETHUSDT', chain: '137', price: '3000', venue: 'x' });
    realtime.emit('funding.rate', { symbol: 'BTC-PERP', rate: '-0.0001', nextFundingTime: 5 });
    realtime.emit('kline.update', { symbol: 'BTCUSDT', interval: '1m', open: '1', close: '2' });
    realtime.emit('portfolio.update', { userId: 'alice', equity: '1250.5' });
    realtime.emit('news', { headline: 'New listing' });
    for (const event of [
      'price.update',
      'funding.rate',
      'kline.update',
      'portfolio.update',
      'news',
    ]) {
      const [envelope] = await events.waitFor(event);
      expect(matches(event, envelope)).toEqual([event, true, null]);
    }
  });

  it('names no server for a malformed Host, and takes a trusted proxy’s forwarded host', async () => {
    const odd = await get(`${gateway.url}/asyncapi.json`, { host: 'bad host<script>' });
    expect(odd.status).toBe(200);
    expect(odd.body.servers).toBeUndefined();
    const untrusted = await get(`${gateway.url}/asyncapi.json`, {
      'x-forwarded-host': 'gateway.example.com',
      'x-forwarded-proto': 'https',
    });
    expect(untrusted.body.servers.gateway.host).toBe(new URL(gateway.url).host);

    const behindProxy = await GatewayHarness.start({
      namespace: '/live',
      limits: { trustProxy: true },
    });
    try {
      const proxied = await get(`${behindProxy.url}/asyncapi.json`, {
        'x-forwarded-host': 'gateway.example.com, inner.local',
        'x-forwarded-proto': 'https',
      });
      expect(proxied.body.servers).toEqual({
        gateway: expect.objectContaining({
          host: 'gateway.example.com',
          protocol: 'wss',
          pathname: '/live',
        }),
      });
    } finally {
      await behindProxy.stop();
    }
  });
});
