import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AppWebSocketGateway, MAX_BATCH, RealtimeEvent } from '#realtime/internal';
import { GatewayHarness, Recorder, command, roundTrip, sleep } from './support/gateway-harness.js';
import { TEST_SECRET, jwt } from './support/tokens.js';

const trade = (symbol: string, tradeId: number) => ({
  symbol,
  tradeId,
  price: '100.5',
  quantity: '1',
  timestamp: 1_700_000_000_000 + tradeId,
});

describe('batched delivery (auth.batch: true) against the real gateway', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET } });
  });
  afterEach(() => gateway.disconnectAll());
  afterAll(() => gateway.stop());

  async function subscribedPair(symbol: string) {
    const batched = await gateway.connect({ auth: { batch: true } });
    const plain = await gateway.connect();
    const batchedEvents = new Recorder(batched, ['batch', 'trade']);
    const plainEvents = new Recorder(plain, ['batch', 'trade']);
    for (const socket of [batched, plain]) {
      expect(await command(socket, 'subscribe', { channel: 'trades', symbol })).toMatchObject({
        ok: true,
      });
    }
    return { batched, plain, batchedEvents, plainEvents };
  }

  it('sends what a room gets in one turn as one batch; a plain client gets the same envelopes one by one', async () => {
    const { batched, plain, batchedEvents, plainEvents } = await subscribedPair('BATCHA');
    for (let i = 1; i <= 5; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHA', i));
    await plainEvents.waitFor('trade', 5);
    const [batch] = await batchedEvents.waitFor('batch', 1);
    await Promise.all([roundTrip(batched), roundTrip(plain)]);

    expect(batchedEvents.payloads('batch')).toHaveLength(1);
    expect(batchedEvents.payloads('trade')).toEqual([]);
    expect(plainEvents.payloads('batch')).toEqual([]);
    expect(batch).toEqual(plainEvents.payloads('trade'));
    expect(
      batch.map((envelope: any) => [envelope.event, envelope.offset, envelope.data.tradeId]),
    ).toEqual([
      ['trade', 1, 1],
      ['trade', 2, 2],
      ['trade', 3, 3],
      ['trade', 4, 4],
      ['trade', 5, 5],
    ]);
  });

  it('adds no wait: events in separate turns go out one per batch', async () => {
    const { batched, batchedEvents } = await subscribedPair('BATCHB');
    for (let i = 1; i <= 3; i++) {
      gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHB', i));
      await batchedEvents.waitFor('batch', i);
    }
    await roundTrip(batched);
    expect(batchedEvents.payloads('batch').map((batch) => batch.length)).toEqual([1, 1, 1]);
  });

  it(`splits a turn of more than ${MAX_BATCH} events into full batches, in order`, async () => {
    const { batched, batchedEvents } = await subscribedPair('BATCHC');
    const count = MAX_BATCH * 2 + 7;
    for (let i = 1; i <= count; i++) gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHC', i));
    await batchedEvents.waitFor('batch', 3);
    await roundTrip(batched);
    const batches = batchedEvents.payloads('batch');
    expect(batches.map((batch) => batch.length)).toEqual([MAX_BATCH, MAX_BATCH, 7]);
    expect(batches.flat().map((envelope: any) => envelope.offset)).toEqual(
      Array.from({ length: count }, (_, i) => i + 1),
    );
  });

  it("batches a user's private events for that user only", async () => {
    const token = (sub: string) => jwt.sign({ sub }, TEST_SECRET);
    const ann = await gateway.connect({ auth: { token: token('ann'), batch: true } });
    const bob = await gateway.connect({ auth: { token: token('bob'), batch: true } });
    const annEvents = new Recorder(ann, ['batch', 'order.created']);
    const bobEvents = new Recorder(bob, ['batch', 'order.created']);
    for (const socket of [ann, bob]) {
      await command(socket, 'subscribe.private', { channel: 'user.orders' });
    }
    gateway.emitter.emit(RealtimeEvent.OrderCreated, { userId: 'ann', orderId: 1 });
    gateway.emitter.emit(RealtimeEvent.OrderCreated, { userId: 'ann', orderId: 2 });
    const [batch] = await annEvents.waitFor('batch', 1);
    await Promise.all([roundTrip(ann), roundTrip(bob)]);
    expect(batch.map((envelope: any) => [envelope.channel, envelope.data.orderId])).toEqual([
      ['user.orders', 1],
      ['user.orders', 2],
    ]);
    expect(annEvents.payloads('order.created')).toEqual([]);
    expect(bobEvents.events).toEqual([]);
  });

  it('does not send a new subscriber what its replay already holds', async () => {
    const { batchedEvents: earlier } = await subscribedPair('BATCHD');
    const late = await gateway.connect({ auth: { batch: true } });
    const lateEvents = new Recorder(late, ['batch', 'trade']);
    // The trade enters in the same turn as the subscription, just before it: it is still
    // waiting for the end of the turn in the room's batch when the late client joins.
    const server = gateway.app.get(AppWebSocketGateway).server;
    server.sockets
      .get(late.id!)!
      .prependOnceListener('subscribe', () =>
        gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHD', 1)),
      );
    await command(late, 'subscribe', { channel: 'trades', symbol: 'BATCHD' });
    await earlier.waitFor('batch', 1);
    gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHD', 2));
    await lateEvents.waitFor('batch', 1);
    await roundTrip(late);

    expect(lateEvents.payloads('trade').map((e) => [e.offset, e.replay, e.data.tradeId])).toEqual([
      [1, true, 1],
    ]);
    expect(
      lateEvents
        .payloads('batch')
        .flatMap((batch) => batch.map((e: any) => [e.offset, e.data.tradeId])),
    ).toEqual([[2, 2]]);
  });

  it("keeps a room's offset while its batched members stay and the plain ones leave", async () => {
    const { plain, batchedEvents } = await subscribedPair('BATCHE');
    gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHE', 1));
    await batchedEvents.waitFor('batch', 1);
    await command(plain, 'unsubscribe', { channel: 'trades', symbol: 'BATCHE' });
    await sleep(20);
    gateway.emitter.emit(RealtimeEvent.Trade, trade('BATCHE', 2));
    const batches = await batchedEvents.waitFor('batch', 2);
    expect(batches.flat().map((envelope: any) => envelope.offset)).toEqual([1, 2]);
  });
});
