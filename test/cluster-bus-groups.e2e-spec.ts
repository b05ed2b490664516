import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import type { Socket } from 'socket.io-client';
import { symbolGroupNumber, userGroupNumber } from '../libs/realtime/src/recovery/bus-groups.js';
import { GatewayHarness, Recorder, command, sleep, until } from './support/gateway-harness.js';
import { freePort } from './support/processes.js';
import { RedisServer } from './support/redis-server.js';
import { TEST_SECRET, hsToken } from './support/tokens.js';

const GROUPS = 8;
const LINGER_MS = 400;

/** Names `count` ids `${stem}{n}` whose group (by `groupOf`) passes `wanted`. */
function idsWhere(
  stem: string,
  count: number,
  groupOf: (id: string) => number,
  wanted: (group: number) => boolean,
): string[] {
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++) if (wanted(groupOf(stem + n))) ids.push(stem + n);
  return ids;
}

const symbolGroup = (symbol: string) => symbolGroupNumber(symbol, GROUPS);
const userGroup = (user: string) => userGroupNumber(user, GROUPS);

/**
 * The cluster bus over 8 bus groups on one real Redis, classic and sharded pub/sub: three
 * in-process gateways, `a` and `b` serving every symbol group, `c` one symbol group only
 * (an instance pool routed by symbol group), each listening to the user groups of the
 * users connected to it.
 */
describe.each([false, true])('the cluster bus over %s sharded bus groups', (sharded) => {
  let redis: RedisServer;
  let a: GatewayHarness;
  let b: GatewayHarness;
  let c: GatewayHarness;
  let probe: ReturnType<typeof createClient>;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  // Twelve symbols over the groups; c serves the first one's group.
  const symbols = idsWhere('BG', 12, symbolGroup, () => true).map((s) => s + 'USDT');
  const served = symbolGroup(symbols[0]!);
  const [otherSymbol] = symbols.filter((symbol) => symbolGroup(symbol) !== served);
  const servedSymbols = symbols.filter((symbol) => symbolGroup(symbol) === served);

  /** The pub/sub channels Redis has subscribers on now (sharded or not, as the test runs). */
  async function channels(): Promise<string[]> {
    const reply = await probe.sendCommand([
      'PUBSUB',
      sharded ? 'SHARDCHANNELS' : 'CHANNELS',
      '{realtime:/ws*',
    ]);
    return (reply as unknown as string[]).sort();
  }

  const userGroupChannel = (group: number, instance: string) =>
    `{realtime:/ws:u${group}}:opened#${instance}`;

  async function signedIn(gateway: GatewayHarness, user: string): Promise<Socket> {
    return gateway.connect({ auth: { token: hsToken(user) } });
  }

  const trade = (symbol: string, tradeId: number) => ({
    symbol,
    tradeId,
    timestamp: Date.now(),
  });

  /** The live (not replayed) payloads of `event` a recorder got, by symbol or for all. */
  const live = (recorder: Recorder, event: string, symbol?: string) =>
    recorder
      .payloads(event)
      .filter((envelope) => !envelope.replay && (!symbol || envelope.data.symbol === symbol));

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    redis = new RedisServer(await freePort());
    await redis.start();
    const bus = (more = {}) => ({
      redis: {
        url: redis.url,
        sharded,
        busGroups: GROUPS,
        busUserGroupLingerMs: LINGER_MS,
        ...more,
      },
    });
    const realtime = (instanceId: string) => ({ instanceId, auth: { secret: TEST_SECRET } });
    a = await GatewayHarness.start(realtime('a'), bus());
    b = await GatewayHarness.start(realtime('b'), bus());
    c = await GatewayHarness.start(realtime('c'), bus({ busSymbolGroups: [served] }));
    probe = createClient({ url: redis.url });
    probe.on('error', () => undefined);
    await probe.connect();
  }, 60_000);

  afterAll(async () => {
    probe?.destroy();
    for (const gateway of [a, b, c]) await gateway?.stop();
    await redis?.stop();
    process.off('unhandledRejection', onRejection);
  });

  it('listens to the everyone group and its symbol groups, and to no user group yet', async () => {
    const listened = await channels();
    for (const instance of ['a', 'b', 'c']) {
      expect(listened).toContain(`{realtime:/ws:*}:opened#${instance}`);
      expect(listened.filter((channel) => channel.includes(':u'))).toEqual([]);
    }
    for (let group = 0; group < GROUPS; group++) {
      expect(listened).toContain(`{realtime:/ws:s${group}}:opened#a`);
      expect(listened.includes(`{realtime:/ws:s${group}}:opened#c`)).toBe(group === served);
    }
    expect(listened).toContain(`{realtime:/ws:s${served}}:stream`);
    // Nothing on the single group's channel: G = 8 has no catch-all stream.
    expect(listened).not.toContain('{realtime:/ws}:stream');
  });

  it('delivers trades of every symbol group, entering at one instance, once and in order elsewhere', async () => {
    const watcher = await b.connect();
    const recorder = new Recorder(watcher, ['trade']);
    for (const symbol of symbols)
      await command(watcher, 'subscribe', { channel: 'trades', symbol });
    const perSymbol = 5;
    for (let round = 1; round <= perSymbol; round++) {
      // One turn holds trades of every group: one script call per group.
      for (const symbol of symbols) a.emitter.emit('trade', trade(symbol, round));
      await sleep(5);
    }
    await until(
      () => live(recorder, 'trade').length >= symbols.length * perSymbol,
      10_000,
      'every trade on b',
    );
    await sleep(200);
    for (const symbol of symbols) {
      const got = live(recorder, 'trade', symbol);
      expect(got.map((envelope) => envelope.data.tradeId)).toEqual([1, 2, 3, 4, 5]);
      const offsets = got.map((envelope) => envelope.offset);
      expect(offsets).toEqual(offsets.map((_, i) => offsets[0] + i));
      expect(new Set(got.map((envelope) => envelope.epoch)).size).toBe(1);
    }
    // The rooms' keys carry their group's tag.
    const group = symbolGroup(symbols[0]!);
    expect(await probe.exists(`{realtime:/ws:s${group}}:pos:trades:${symbols[0]}`)).toBe(1);
    expect(await probe.exists(`{realtime:/ws}:pos:trades:${symbols[0]}`)).toBe(0);
  });

  it('refuses on a restricted instance a symbol of another group, and serves its own', async () => {
    const socket = await c.connect();
    const recorder = new Recorder(socket, ['trade']);
    const refused = await command(socket, 'subscribe', { channel: 'trades', symbol: otherSymbol });
    expect(refused).toMatchObject({
      ok: false,
      error: {
        code: 'WRONG_INSTANCE',
        message: expect.stringContaining(`bus group s${symbolGroup(otherSymbol!)}`),
      },
    });
    const symbol = servedSymbols[0]!;
    expect(await command(socket, 'subscribe', { channel: 'trades', symbol })).toMatchObject({
      ok: true,
    });
    a.emitter.emit('trade', trade(symbol, 100));
    a.emitter.emit('trade', trade(otherSymbol!, 100));
    await until(() => live(recorder, 'trade').length >= 1, 5000, 'the served trade on c');
    await sleep(200);
    expect(live(recorder, 'trade').map((envelope) => envelope.data.symbol)).toEqual([symbol]);
  });

  it('recovers trades missed across instances with since', async () => {
    const symbol = symbols[1]!;
    const first = await b.connect();
    const before = new Recorder(first, ['trade']);
    await command(first, 'subscribe', { channel: 'trades', symbol });
    a.emitter.emit('trade', trade(symbol, 200));
    await until(() => live(before, 'trade', symbol).length === 1, 5000, 'trade 200 on b');
    const { offset, epoch } = live(before, 'trade', symbol)[0];
    first.disconnect();
    for (let id = 201; id <= 205; id++) b.emitter.emit('trade', trade(symbol, id));
    await sleep(300);
    const second = await a.connect();
    const after = new Recorder(second, ['trade']);
    const answer = await command(second, 'subscribe', {
      channel: 'trades',
      symbol,
      since: { offset, epoch },
    });
    expect(answer).toMatchObject({ ok: true, recovered: true });
    await until(() => after.payloads('trade').length >= 5, 5000, 'the missed trades');
    expect(after.payloads('trade').map((envelope) => envelope.data.tradeId)).toEqual([
      201, 202, 203, 204, 205,
    ]);
    expect(after.payloads('trade').map((envelope) => envelope.offset)).toEqual(
      [1, 2, 3, 4, 5].map((n) => offset + n),
    );
  });

  it("brings a user's private events to the instance listening to their group only once they connected", async () => {
    const [user] = idsWhere(`carol-${sharded}-`, 1, userGroup, () => true);
    const group = userGroup(user!);
    expect(await channels()).not.toContain(userGroupChannel(group, 'c'));
    const socket = await signedIn(c, user!);
    const recorder = new Recorder(socket, ['order.filled']);
    expect(await command(socket, 'subscribe.private', { channel: 'user.orders' })).toMatchObject({
      ok: true,
      position: { offset: expect.any(Number) },
    });
    expect(await channels()).toContain(userGroupChannel(group, 'c'));
    expect(await channels()).toContain(`{realtime:/ws:u${group}}:stream`);
    for (let id = 1; id <= 5; id++) a.emitter.emit('order.filled', { userId: user, orderId: id });
    await until(() => recorder.payloads('order.filled').length >= 5, 5000, 'five fills on c');
    await sleep(200);
    const fills = recorder.payloads('order.filled');
    expect(fills.map((envelope) => envelope.data.orderId)).toEqual([1, 2, 3, 4, 5]);
    expect(fills.map((envelope) => envelope.offset)).toEqual([1, 2, 3, 4, 5]);
    // A second user in another group connected to b does not get carol's fills.
    const [other] = idsWhere(`dave-${sharded}-`, 1, userGroup, (g) => g !== group);
    const otherSocket = await signedIn(b, other!);
    const otherRecorder = new Recorder(otherSocket, ['order.filled']);
    await command(otherSocket, 'subscribe.private', { channel: 'user.orders' });
    a.emitter.emit('order.filled', { userId: other, orderId: 9 });
    await otherRecorder.waitFor('order.filled');
    expect(recorder.payloads('order.filled')).toHaveLength(5);
    // Recovery of private events from another instance, within the group's keys.
    socket.disconnect();
    for (let id = 6; id <= 8; id++) b.emitter.emit('order.filled', { userId: user, orderId: id });
    await sleep(200);
    const again = await signedIn(a, user!);
    const recovered = new Recorder(again, ['order.filled']);
    const answer = await command(again, 'subscribe.private', {
      channel: 'user.orders',
      since: { offset: 5, epoch: fills[0].epoch },
    });
    expect(answer).toMatchObject({ ok: true, recovered: true });
    await recovered.waitFor('order.filled', 3);
    expect(recovered.payloads('order.filled').map((e) => e.data.orderId)).toEqual([6, 7, 8]);
    // c let go of the group some time after its last user of it left.
    await until(
      async () => !(await channels()).includes(userGroupChannel(group, 'c')),
      LINGER_MS + 3000,
      'c to let go of the user group',
    );
  });

  it('keeps local delivery through a Redis outage and resumes the cluster bus after it, user groups included', async () => {
    const symbol = servedSymbols[servedSymbols.length - 1]!;
    const onA = await a.connect();
    const onC = await c.connect();
    const recorderA = new Recorder(onA, ['trade']);
    const recorderC = new Recorder(onC, ['trade']);
    for (const socket of [onA, onC])
      await command(socket, 'subscribe', { channel: 'trades', symbol });
    // Two users on c before the outage (their groups subscribed), one connecting during it.
    const [early] = idsWhere(`erin-${sharded}-`, 1, userGroup, () => true);
    const [lateUser] = idsWhere(`frank-${sharded}-`, 1, userGroup, (g) => g !== userGroup(early!));
    const earlySocket = await signedIn(c, early!);
    const earlyFills = new Recorder(earlySocket, ['order.filled']);
    await command(earlySocket, 'subscribe.private', { channel: 'user.orders' });

    let tradeId = 1000;
    const traffic = setInterval(() => {
      a.emitter.emit('trade', trade(symbol, ++tradeId));
      c.emitter.emit('trade', trade(symbol, 50_000 + tradeId));
    }, 20);
    try {
      await until(
        () => live(recorderC, 'trade').some((e) => e.data.tradeId < 50_000),
        5000,
        'a trade from a on c',
      );
      await redis.stop();
      await sleep(1000);
      const localBefore = live(recorderA, 'trade').filter((e) => e.data.tradeId < 50_000).length;
      const lateSocket = await signedIn(c, lateUser!);
      const lateFills = new Recorder(lateSocket, ['order.filled']);
      expect(
        await command(lateSocket, 'subscribe.private', { channel: 'user.orders' }),
      ).toMatchObject({ ok: true });
      await sleep(1500);
      // Each instance's own clients keep their stream while Redis is away.
      expect(
        live(recorderA, 'trade').filter((e) => e.data.tradeId < 50_000).length,
      ).toBeGreaterThan(localBefore + 20);
      await redis.start();
      await until(
        async () => a.app.getHttpServer().listening && (await fetch(`${a.url}/health/ready`)).ok,
        15_000,
        'a ready again',
      );
      await until(async () => (await fetch(`${c.url}/health/ready`)).ok, 15_000, 'c ready again');
      const resumedAt = tradeId;
      await until(
        () =>
          live(recorderC, 'trade').some(
            (e) => e.data.tradeId > resumedAt + 5 && e.data.tradeId < 50_000,
          ),
        10_000,
        "a's trades on c again",
      );
      // The dynamic user-group subscriptions came back, and the one asked for during the outage.
      await until(
        async () => {
          const listened = await channels();
          return (
            listened.includes(userGroupChannel(userGroup(early!), 'c')) &&
            listened.includes(userGroupChannel(userGroup(lateUser!), 'c'))
          );
        },
        10_000,
        'the user groups of c',
      );
      a.emitter.emit('order.filled', { userId: early, orderId: 31 });
      a.emitter.emit('order.filled', { userId: lateUser, orderId: 32 });
      expect((await earlyFills.waitFor('order.filled'))[0].data.orderId).toBe(31);
      expect((await lateFills.waitFor('order.filled'))[0].data.orderId).toBe(32);
    } finally {
      clearInterval(traffic);
    }
    // No trade twice on c, and each origin's trades in order.
    const ids = live(recorderC, 'trade').map((e) => e.data.tradeId as number);
    expect(new Set(ids).size).toBe(ids.length);
    for (const fromA of [true, false]) {
      const part = ids.filter((id) => id < 50_000 === fromA);
      expect(part).toEqual([...part].sort((x, y) => x - y));
    }
    expect(rejections).toEqual([]);
  }, 60_000);
});
