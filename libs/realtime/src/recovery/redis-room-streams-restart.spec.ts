import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { until } from '../../../../test/support/gateway-harness.js';
import { freePort } from '../../../../test/support/processes.js';
import { RedisServer } from '../../../../test/support/redis-server.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import {
  RedisRoomStreams,
  type StreamCommandClient,
  type StreamSubscriberClient,
} from './redis-room-streams.js';

type RealClient = ReturnType<typeof createClient>;

const catalogue = new RealtimeCatalogue();
const trade = catalogue.definition('trade')!;
const history = { size: 1000, ageMs: 60_000 };
const room = 'trades:BTCUSDT';
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** One instance's room streams on a real Redis, and the trade ids it delivered from others. */
function instance(id: string, url: string) {
  const socket = { reconnectStrategy: () => 50 };
  const pub: RealClient = createClient({ url, socket, disableOfflineQueue: true });
  const sub: RealClient = createClient({ url, socket });
  for (const client of [pub, sub]) client.on('error', () => undefined);
  const fromOthers: number[] = [];
  const streams = new RedisRoomStreams(
    pub as unknown as StreamCommandClient,
    sub as unknown as StreamSubscriberClient,
    {
      instanceId: id,
      prefix: '{realtime:/ws}:',
      positionTtlMs: 60_000,
      catalogue,
      deliver: (_definition, _room, data, _offset, _epoch, _ts, remote) => {
        if (remote) fromOthers.push(data.tradeId as number);
      },
      positionLocally: () => undefined,
      openLocally: () => ({ position: { offset: 0, epoch: 'local' } }),
    },
  );
  // What the Redis adapter does once both clients are back.
  pub.on('ready', () => streams.reconnected());
  const append = (tradeId: number) =>
    streams.append(trade, room, history, { symbol: 'BTCUSDT', tradeId }, Date.now());
  return {
    pub,
    sub,
    streams,
    fromOthers,
    append,
    start: async () => {
      await Promise.all([pub.connect(), sub.connect()]);
      streams.start();
    },
    stop: async () => {
      streams.dispose();
      await Promise.all([pub.quit(), sub.quit()]).catch(() => undefined);
    },
  };
}

describe('RedisRoomStreams on a Redis that restarts', () => {
  let redis: RedisServer;
  let probe: RealClient;

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
  });

  afterAll(async () => {
    await probe?.quit().catch(() => undefined);
    await redis.stop();
  });

  /** Whether both instances listen on the stream channel again. */
  const bothListen = async (): Promise<boolean> => {
    const answer = (await probe.sendCommand(['PUBSUB', 'NUMSUB', '{realtime:/ws}:stream'])) as [
      string,
      number,
    ];
    return Number(answer[1]) >= 2;
  };

  it("delivers one instance's messages to the others in order while both load their scripts again", async () => {
    const a = instance('a', redis.url);
    const c = instance('c', redis.url);
    await Promise.all([a.start(), c.start()]);
    probe = createClient({ url: redis.url, socket: { reconnectStrategy: () => 50 } });
    probe.on('error', () => undefined);
    await probe.connect();
    try {
      let tradeId = 0;
      for (let i = 0; i < 5; i++) {
        a.append(++tradeId);
        c.append(10_000 + tradeId);
        await turn();
      }
      await until(() => c.fromOthers.length === 5, 5000, "a's first trades on c");

      // A new Redis (it keeps nothing on disk): no scripts, no streams.
      await redis.stop();
      await redis.start();
      await until(
        async () => a.pub.isReady && c.pub.isReady && a.sub.isReady && c.sub.isReady,
        10_000,
        'the clients back',
      );
      await until(bothListen, 10_000, 'both subscribed again');
      c.fromOthers.length = 0;
      const firstAfter = tradeId + 1;
      // Many calls of a under way at once, c's interleaved with them.
      for (let i = 0; i < 200; i++) {
        a.append(++tradeId);
        if (i % 3 === 0) c.append(10_000 + tradeId);
        await turn();
      }
      await until(() => c.fromOthers.length === 200, 10_000, "a's trades on c after the restart");
      expect(c.fromOthers).toEqual(Array.from({ length: 200 }, (_, i) => firstAfter + i));
    } finally {
      await Promise.all([a.stop(), c.stop()]);
    }
  }, 40_000);
});
