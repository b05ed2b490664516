import { describe, expect, it } from '@jest/globals';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { busGroupLayout, symbolGroupNumber } from './bus-groups.js';
import {
  RedisRoomStreams,
  type StreamCommandClient,
  type StreamSubscriberClient,
} from './redis-room-streams.js';

const catalogue = new RealtimeCatalogue();
const trade = catalogue.definition('trade')!;
const history = { size: 10, ageMs: 60_000 };
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Script calls that wait until the test fails them, as a Redis that just went away does. */
class StalledRedis implements StreamCommandClient {
  isReady = true;
  private readonly calls: Array<(error: Error) => void> = [];

  sendCommand(args: string[]): Promise<unknown> {
    if (args[0] === 'SCRIPT') return Promise.resolve('sha');
    return new Promise((_resolve, reject) => this.calls.push(reject));
  }

  failAll(): void {
    for (const reject of this.calls.splice(0)) reject(new Error('Socket closed unexpectedly'));
  }
}

describe('RedisRoomStreams', () => {
  it('positions messages alone in the order taken in when Redis goes away under them', async () => {
    const pub = new StalledRedis();
    const sub = { isReady: true, subscribe: () => undefined };
    const positioned: number[] = [];
    const streams = new RedisRoomStreams(pub, sub, {
      instanceId: 'a',
      prefix: '{realtime:/ws}:',
      positionTtlMs: 60_000,
      catalogue,
      deliver: () => undefined,
      positionLocally: (messages) =>
        positioned.push(...messages.map((m) => m.data.tradeId as number)),
      openLocally: () => ({ position: { offset: 0, epoch: 'local' } }),
    });
    const append = (tradeId: number) =>
      streams.append(trade, 'trades:BTCUSDT', history, { symbol: 'BTCUSDT', tradeId }, 1);

    append(1);
    await turn(); // 1 is with Redis
    append(2);
    await turn(); // 2 too
    pub.isReady = false;
    append(3);
    await turn(); // Redis is known to be away: 3 is for this instance, but after 1 and 2
    expect(positioned).toEqual([]);
    pub.failAll();
    await turn();
    expect(positioned).toEqual([1, 2, 3]);
    append(4);
    await turn();
    expect(positioned).toEqual([1, 2, 3, 4]);
    streams.dispose();
  });

  it('tells an opened subscription in the same call that delivers its marker, before the next message', async () => {
    const pub = { isReady: true, sendCommand: () => Promise.resolve('sha') };
    let listener: (message: string, channel: string) => void = () => undefined;
    const sub: StreamSubscriberClient = {
      isReady: true,
      subscribe: (_channels, onMessage) => (listener = onMessage),
    };
    const seen: string[] = [];
    const streams = new RedisRoomStreams(pub, sub, {
      instanceId: 'c',
      prefix: '{realtime:/ws}:',
      positionTtlMs: 60_000,
      catalogue,
      deliver: (_definition, _room, data) => seen.push(`delivered ${String(data.tradeId)}`),
      positionLocally: () => undefined,
      openLocally: () => ({ position: { offset: 0, epoch: 'local' } }),
    });
    streams.start();
    streams.open({ room: 'trades:BTCUSDT', history, since: undefined }, (opening) =>
      seen.push(`opened at ${opening.position.offset}`),
    );
    await turn(); // the open script is sent; its marker and the next message arrive in one read
    listener('1\n[["e1",7]]', '{realtime:/ws}:opened#c');
    listener(
      'b\n1\n1000\n1\n["e1"]\n8\n[["trade",{"symbol":"BTCUSDT","tradeId":8}]]',
      '{realtime:/ws}:stream',
    );
    expect(seen).toEqual(['opened at 7', 'delivered 8']);
    streams.dispose();
  });

  it('splits a turn by bus group: one script call per group, its keys and channel in one slot', async () => {
    const calls: string[][] = [];
    const pub = {
      isReady: true,
      sendCommand: (args: string[]) => {
        calls.push(args);
        return Promise.resolve(args[0] === 'SCRIPT' ? 'sha' : '["e"]\n1');
      },
    };
    const subscribed: string[][] = [];
    const sub: StreamSubscriberClient = {
      isReady: true,
      subscribe: () => {
        throw new Error('sharded: SSUBSCRIBE only');
      },
      sSubscribe: (channels) => subscribed.push(channels),
    };
    const [mine, other] = ['AAAUSDT', 'BBBUSDT', 'CCCUSDT', 'DDDUSDT']
      .map((symbol) => [symbol, symbolGroupNumber(symbol, 8)] as const)
      .filter(([, group], i, all) => i === 0 || group !== all[0]![1]);
    const positioned: unknown[] = [];
    const delivered: unknown[] = [];
    const streams = new RedisRoomStreams(pub, sub, {
      instanceId: 'a',
      prefix: '{realtime:/ws}:',
      bus: {
        layout: busGroupLayout(8, [mine![1]]),
        namespace: '/ws',
        sharded: true,
        userGroupLingerMs: 1000,
      },
      positionTtlMs: 60_000,
      catalogue,
      deliver: (_definition, room) => delivered.push(room),
      positionLocally: (messages) => positioned.push(...messages),
      openLocally: () => ({ position: { offset: 0, epoch: 'local' } }),
    });
    streams.start();
    expect(subscribed).toEqual([
      ['{realtime:/ws:*}:stream', '{realtime:/ws:*}:opened#a'],
      [`{realtime:/ws:s${mine![1]}}:stream`, `{realtime:/ws:s${mine![1]}}:opened#a`],
    ]);
    for (const [symbol] of [mine!, other!, mine!])
      streams.append(trade, `trades:${symbol}`, history, { symbol, tradeId: 1 }, 1);
    await turn();
    await turn();
    // Redis has not run the script for this instance yet: it goes by its body.
    const scripts = calls.filter((args) => args[0] === 'EVAL');
    expect(scripts[0]![1]).toContain("redis.call('SPUBLISH', ARGV[1]");
    expect(scripts.map((args) => [args[3], args[5]])).toEqual([
      [`{realtime:/ws:s${mine![1]}}:pos:trades:${mine![0]}`, `{realtime:/ws:s${mine![1]}}:stream`],
      [
        `{realtime:/ws:s${other![1]}}:pos:trades:${other![0]}`,
        `{realtime:/ws:s${other![1]}}:stream`,
      ],
    ]);
    // The group this instance does not serve is settled by Redis's answer, delivered nowhere here.
    expect(streams.unservedGroup(`trades:${other![0]}`)).toBe(`s${other![1]}`);
    expect(streams.unservedGroup(`trades:${mine![0]}`)).toBeUndefined();
    expect(positioned).toEqual([]);
    expect(delivered).toEqual([]);
    streams.dispose();
    // Disposed: the served group's batch, still waiting for its stream, is positioned here.
    expect(positioned).toHaveLength(2);
  });
});
