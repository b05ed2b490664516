import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Producer } from 'kafkajs';
import { RealtimeEmitter, type CataloguePayloads } from '#realtime';
import { KafkaIngressServer } from '../apps/gateway/src/kafka/kafka-ingress.server.js';
import { HOST_EVENTS } from './support/host-events.js';
import {
  ANY_POSITION,
  GatewayHarness,
  Recorder,
  command,
  sleep,
  until,
} from './support/gateway-harness.js';
import { TestKafka, connectedProducer, ensureTopics } from './support/kafka.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const RUN = Date.now().toString(36).toUpperCase();
const TOPIC = `realtime.test-custom-${RUN}`;
const PUBLISH_KEY = 'custom-events-key-0123456789';
const kafka = new TestKafka();

afterAll(async () => {
  await kafka.stopStarted();
}, 60_000);

describe('a host app with events of its own (real sockets, every ingress)', () => {
  let gateway: GatewayHarness;
  let producer: Producer;
  let realtime: RealtimeEmitter<CataloguePayloads<typeof HOST_EVENTS>>;

  const publish = (body: unknown) =>
    fetch(`${gateway.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const rejected = async (ingress: string, code: string) => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const series = `realtime_events_rejected_total{ingress="${ingress}",code="${code}"} `;
    const line = text.split('\n').find((l) => l.startsWith(series));
    return line ? Number(line.slice(series.length)) : 0;
  };

  beforeAll(async () => {
    const brokers = await kafka.shared();
    await ensureTopics(brokers, [TOPIC], 1);
    gateway = await GatewayHarness.start(
      { auth: { secret: TEST_SECRET }, events: HOST_EVENTS },
      {
        publish: { apiKey: PUBLISH_KEY, maxBodyBytes: 100_000, maxBatch: 100 },
        kafka: {
          brokers: brokers.split(','),
          topics: [TOPIC],
          groupId: `custom-${RUN}`,
          clientId: 'custom-test',
        },
      },
    );
    await until(
      () => gateway.app.get(KafkaIngressServer).state === 'ready',
      60_000,
      'the Kafka consumer',
    );
    producer = await connectedProducer(brokers);
    realtime = new RealtimeEmitter(gateway.emitter);
  }, 180_000);

  afterAll(async () => {
    await producer?.disconnect();
    await gateway?.stop();
  });

  it('delivers each routing kind to its subscribers only, in the one envelope', async () => {
    const alice = await gateway.connect({ auth: { token: hsToken('alice') } });
    const bob = await gateway.connect({ auth: { token: hsToken('bob') } });
    const [aliceEvents, bobEvents] = [new Recorder(alice), new Recorder(bob)];
    expect(await command(alice, 'subscribe', { channel: 'funding', symbol: 'btcusdt' })).toEqual({
      ok: true,
      channel: 'funding',
      symbol: 'BTCUSDT',
      position: ANY_POSITION,
    });
    expect(
      await command(alice, 'subscribe', { channel: 'prices', symbol: 'ETHUSDT', chain: '137' }),
    ).toEqual({
      ok: true,
      channel: 'prices',
      symbol: 'ETHUSDT',
      chain: '137',
      position: ANY_POSITION,
    });
    await command(alice, 'subscribe.private', { channel: 'user.portfolio' });
    await command(bob, 'subscribe.private', { channel: 'user.portfolio' });

    realtime.emit('funding.rate', { symbol: 'BTCUSDT', rate: '0.0001', venue: 'perp' });
    realtime.emit('price.update', { symbol: 'ETHUSDT', chain: '1', price: '2999' });
    realtime.emit('price.update', { symbol: 'ETHUSDT', chain: '137', price: '3000' });
    realtime.emit('portfolio.update', { userId: 'alice', equity: '1250.5' });
    realtime.emit('news', { headline: 'New listing: SOLUSDT' });

    const [funding] = await aliceEvents.waitFor('funding.rate');
    expect(funding).toEqual({
      channel: 'funding',
      event: 'funding.rate',
      symbol: 'BTCUSDT',
      offset: 1,
      epoch: expect.any(String),
      ts: expect.any(Number),
      data: { symbol: 'BTCUSDT', rate: '0.0001', venue: 'perp' },
    });
    const prices = await aliceEvents.waitFor('price.update');
    expect(prices).toEqual([
      expect.objectContaining({ channel: 'prices', symbol: 'ETHUSDT', chain: '137', offset: 1 }),
    ]);
    expect((await aliceEvents.waitFor('portfolio.update'))[0]).toMatchObject({
      channel: 'user.portfolio',
      data: { userId: 'alice', equity: '1250.5' },
    });
    for (const recorder of [aliceEvents, bobEvents])
      expect((await recorder.waitFor('news'))[0]).toMatchObject({
        channel: 'system',
        data: { headline: 'New listing: SOLUSDT' },
      });
    await command(bob, 'ping');
    expect(bobEvents.payloads('portfolio.update')).toEqual([]);
  });

  it('replays the last value to a new subscriber when the event asks for it', async () => {
    realtime.emit('funding.rate', { symbol: 'ETHUSDT', rate: '0.0002' });
    await sleep(50);
    const late = await gateway.connect();
    const recorder = new Recorder(late);
    await command(late, 'subscribe', { channel: 'funding', symbol: 'ETHUSDT' });
    const [replayed] = await recorder.waitFor('funding.rate');
    expect(replayed).toMatchObject({ replay: true, data: { rate: '0.0002' } });
  });

  it('takes host events over HTTP and Kafka and refuses invalid ones at every ingress', async () => {
    const socket = await gateway.connect();
    const recorder = new Recorder(socket);
    await command(socket, 'subscribe', { channel: 'funding', symbol: 'SOLUSDT' });

    const accepted = await publish({
      event: 'funding.rate',
      data: { symbol: 'SOLUSDT', rate: '0.0003' },
    });
    expect(accepted.status).toBe(202);
    const refused = await publish({ event: 'funding.rate', data: { symbol: 'SOLUSDT' } });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).refused).toEqual([
      {
        index: 0,
        code: 'INVALID_PAYLOAD',
        field: 'data.rate',
        message: 'data.rate is required',
      },
    ]);

    await producer.send({
      topic: TOPIC,
      messages: [
        {
          key: 'SOLUSDT',
          value: JSON.stringify({
            event: 'funding.rate',
            data: { symbol: 'SOLUSDT', rate: 'high' },
          }),
        },
        {
          key: 'SOLUSDT',
          value: JSON.stringify({
            event: 'funding.rate',
            data: { symbol: 'SOLUSDT', rate: '0.0004' },
          }),
        },
      ],
    });
    const rates = await recorder.waitFor('funding.rate', 2, 15_000);
    expect(rates.map((r) => r.data.rate)).toEqual(['0.0003', '0.0004']);
    expect(await rejected('kafka', 'INVALID_PAYLOAD')).toBe(1);

    gateway.emitter.emit('price.update', { symbol: 'ETHUSDT', chain: '5', price: '1' });
    gateway.emitter.emit('portfolio.update', { equity: '1' });
    expect(await rejected('emitter', 'INVALID_PAYLOAD')).toBe(2);
  });

  it('answers subscriptions the merged catalogue does not have with the documented codes', async () => {
    const socket = await gateway.connect({ auth: { token: hsToken('carol') } });
    expect(
      await command(socket, 'subscribe', { channel: 'prices', symbol: 'ETHUSDT', chain: '2' }),
    ).toEqual({
      ok: false,
      command: 'subscribe',
      channel: 'prices',
      symbol: 'ETHUSDT',
      chain: '2',
      error: { code: 'INVALID_PAYLOAD', message: 'chain must be one of 1, 137, got "2"' },
    });
    expect(
      (await command(socket, 'subscribe', { channel: 'user.portfolio', symbol: 'X' })).error.code,
    ).toBe('UNKNOWN_CHANNEL');
    expect((await command(socket, 'subscribe.private', { channel: 'funding' })).error.code).toBe(
      'UNKNOWN_CHANNEL',
    );
  });

  it('counts host events in the metrics under their own names', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toMatch(
      /realtime_events_in_total\{ingress="emitter",event="funding.rate"\} [1-9]/,
    );
    expect(text).toMatch(/realtime_messages_out_total\{channel="user.portfolio"\} [1-9]/);
  });
});
