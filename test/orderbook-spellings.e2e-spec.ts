import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { crc32 as zlibCrc32 } from 'node:zlib';
import type { Socket } from 'socket.io-client';
import { MarketState, RealtimeEvent } from '#realtime/internal';
import { OrderBookSync, type OrderBookEnvelope } from '../libs/client/src/index.js';
import { GatewayHarness, command, roundTrip } from './support/gateway-harness.js';
import { ReferenceBook } from './support/reference-book.js';

const checksumOf = (text: string) => zlibCrc32(text) >>> 0;

describe('order books at the edges, over real sockets', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const emit = (event: string, data: object) => gateway.emitter.emit(event, data);

  /**
   * A subscriber with two books: one kept by the docs alone (levels keyed by the strings
   * received) and one by the SDK; `mismatches` lists every message whose checksum the
   * docs' book did not reproduce.
   */
  async function subscriber(symbol: string) {
    const socket: Socket = await gateway.connect();
    const docs = new ReferenceBook();
    const sdk = new OrderBookSync(symbol);
    const messages: OrderBookEnvelope[] = [];
    const mismatches: string[] = [];
    for (const event of ['orderbook.snapshot', 'orderbook.update']) {
      socket.on(event, (envelope: OrderBookEnvelope) => {
        messages.push(envelope);
        if (event === 'orderbook.snapshot') {
          docs.bids.clear();
          docs.asks.clear();
        }
        docs.apply('bids', envelope.data.bids);
        docs.apply('asks', envelope.data.asks);
        if (docs.checksum() !== envelope.data.checksum) {
          mismatches.push(
            `${event} ${envelope.data.lastUpdateId}: ${JSON.stringify(docs.sorted('bids'))}`,
          );
        }
        sdk.apply(envelope);
      });
    }
    await command(socket, 'subscribe', { channel: 'orderbook', symbol });
    return { socket, docs, sdk, messages, mismatches };
  }

  it("keeps one level for 65000.5 and 65000.50 (the issue's example): every checksum matches, replays carry no null", async () => {
    const symbol = 'SPELLUSDT';
    emit(RealtimeEvent.OrderBookSnapshot, {
      symbol,
      lastUpdateId: 10,
      bids: [
        ['65000.5', '1'],
        ['64999', '3'],
      ],
      asks: [['65001', '1']],
    });
    const early = await subscriber(symbol);

    emit(RealtimeEvent.OrderBookUpdate, {
      symbol,
      firstUpdateId: 11,
      lastUpdateId: 11,
      bids: [['65000.50', '2']],
      asks: [],
    });
    const between = await subscriber(symbol);
    emit(RealtimeEvent.OrderBookUpdate, {
      symbol,
      firstUpdateId: 12,
      lastUpdateId: 12,
      bids: [['65000.5', '0']],
      asks: [],
    });
    const late = await subscriber(symbol);
    for (const each of [early, between, late]) await roundTrip(each.socket);

    // The second spelling is the same level, sent on as the book spells it.
    expect(early.messages.map(({ data }) => [data.lastUpdateId, data.bids])).toEqual([
      [
        10,
        [
          ['65000.5', '1'],
          ['64999', '3'],
        ],
      ],
      [11, [['65000.5', '2']]],
      [12, [['65000.5', '0']]],
    ]);
    expect(between.messages[0]!.data.bids).toEqual([
      ['65000.5', '2'],
      ['64999', '3'],
    ]);
    // The replay after the removal: the level is gone, no ["65000.5", null].
    expect(late.messages.map(({ event, data }) => [event, data.bids, data.asks])).toEqual([
      ['orderbook.snapshot', [['64999', '3']], [['65001', '1']]],
    ]);
    expect(gateway.app.get(MarketState).replay('orderbook', symbol)[0]!.data.bids).toEqual([
      ['64999', '3'],
    ]);
    for (const each of [early, between, late]) {
      expect(each.mismatches).toEqual([]);
      expect(each.sdk.state).toBe('synced');
      expect(each.messages.at(-1)!.data.checksum).toBe(checksumOf('64999:3:65001:1'));
      expect(each.docs.sorted('bids')).toEqual([['64999', '3']]);
      expect(each.sdk.bids()).toEqual([['64999', '3']]);
    }
  });

  it('forwards a crossed snapshot as sent, with its checksum, counts it and logs once per symbol', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const symbol = 'CROSSUSDT';
      const client = await subscriber(symbol);
      const crossed = { symbol, bids: [['101', '1']], asks: [['100', '2']] };
      emit(RealtimeEvent.OrderBookSnapshot, { ...crossed, lastUpdateId: 1 });
      emit(RealtimeEvent.OrderBookSnapshot, { ...crossed, lastUpdateId: 2 });
      emit(RealtimeEvent.OrderBookSnapshot, {
        symbol,
        lastUpdateId: 3,
        bids: [['99', '1']],
        asks: [['100', '2']],
      });
      await roundTrip(client.socket);

      expect(client.messages.map(({ data }) => [data.bids, data.asks, data.checksum])).toEqual([
        [crossed.bids, crossed.asks, checksumOf('101:1:100:2')],
        [crossed.bids, crossed.asks, checksumOf('101:1:100:2')],
        [[['99', '1']], [['100', '2']], checksumOf('99:1:100:2')],
      ]);
      expect(client.sdk.state).toBe('synced');
      expect(gateway.app.get(MarketState).crossedSnapshotCounts().get(symbol)).toBe(2);
      const logged = warn.mock.calls.filter(([message]) => String(message).includes(symbol));
      expect(logged).toHaveLength(1);
      expect(String(logged[0]![0])).toContain('best bid 101 at or above best ask 100');
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      expect(metrics).toContain('realtime_events_dropped_total{reason="orderbook-crossed"} 2');
    } finally {
      warn.mockRestore();
    }
  });
});
