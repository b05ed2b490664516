import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { Recorder, command, until } from './support/gateway-harness.js';
import type { RunningProcess } from './support/processes.js';
import { startDemo } from './support/demo.js';

/** Every event of the user.balances channel, and what a fill of the user's sends elsewhere. */
const BALANCE_EVENTS = ['balance.updated', 'balance.locked', 'balance.unlocked'];
const TRADE_EVENTS = ['order.filled', 'trade.executed'];

describe('demo app: a user who signs in sees their account at once', () => {
  let demo: RunningProcess;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ process: demo, url } = await startDemo());
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    expect(await demo.stop()).toBe('SIGTERM');
  });

  async function signIn(user: string): Promise<{ socket: Socket; recorder: Recorder }> {
    const { token } = (await (await fetch(`${url}/demo/token?user=${user}`)).json()) as {
      token: string;
    };
    const socket = io(url + '/ws', {
      transports: ['websocket'],
      reconnection: false,
      auth: { token },
    });
    sockets.push(socket);
    const recorder = new Recorder(socket);
    const [greeting] = await recorder.waitFor('connected');
    expect(greeting.userId).toBe(user);
    return { socket, recorder };
  }

  it('gets the balance and the portfolio right after subscribing, before any trade of theirs', async () => {
    const { socket, recorder } = await signIn('alice');
    const balances = await command(socket, 'subscribe.private', { channel: 'user.balances' });
    const portfolio = await command(socket, 'subscribe.private', { channel: 'user.portfolio' });
    expect(balances.ok && portfolio.ok).toBe(true);
    // Only now does the connection watch alice's trades: any fill of hers comes after this.
    for (const channel of ['user.orders', 'user.trades'])
      expect((await command(socket, 'subscribe.private', { channel })).ok).toBe(true);

    const [snapshot] = await recorder.waitFor('portfolio.update');
    const [balance] = await recorder.waitFor('balance.updated');
    // The first message of each room after the answer: the state as it is, at the next offset.
    // (Without it, the room's next message is a balance.locked or .unlocked of the next order.)
    const first = recorder.events.find((e) => BALANCE_EVENTS.includes(e.name))!;
    expect(first.name).toBe('balance.updated');
    expect(balance).toMatchObject({
      channel: 'user.balances',
      offset: balances.position.offset + 1,
      epoch: balances.position.epoch,
      data: { userId: 'alice', asset: 'USDT', free: expect.stringMatching(/^-?\d+\.\d\d$/) },
    });
    expect(snapshot).toMatchObject({
      channel: 'user.portfolio',
      offset: portfolio.position.offset + 1,
      epoch: portfolio.position.epoch,
      data: { userId: 'alice', cash: expect.stringMatching(/^-?\d+\.\d\d$/) },
    });
    expect(Number(snapshot.data.equity)).toBeCloseTo(
      Number(snapshot.data.cash) +
        snapshot.data.positions.reduce(
          (worth: number, p: { size: string; markPrice: string }) =>
            worth + Number(p.size) * Number(p.markPrice),
          0,
        ),
      1,
    );
    const snapshotAt = recorder.events.findIndex((e) => e.name === 'portfolio.update');
    // The portfolio's cash is the balance last received before it (a fill in between sends both).
    const lastBalance = recorder.events
      .slice(0, snapshotAt)
      .filter((e) => e.name === 'balance.updated')
      .at(-1)!;
    expect(lastBalance.payload.data.free).toBe(snapshot.data.cash);

    // Her next fill comes later, after both.
    await recorder.waitFor('trade.executed', 1, 20_000);
    const firstTrade = recorder.events.findIndex((e) => TRADE_EVENTS.includes(e.name));
    expect(firstTrade).toBeGreaterThan(snapshotAt);
    expect(firstTrade).toBeGreaterThan(recorder.events.indexOf(first));
  });

  it('sends each user their own balance, again to every connection of theirs', async () => {
    /** Subscribes to user.balances; resolves with the room's first message after the answer. */
    async function subscribeBalances({ socket, recorder }: { socket: Socket; recorder: Recorder }) {
      const answer = await command(socket, 'subscribe.private', { channel: 'user.balances' });
      expect(answer.ok).toBe(true);
      await recorder.waitFor('balance.updated');
      const first = recorder.events.find((e) => BALANCE_EVENTS.includes(e.name))!;
      expect(first.name).toBe('balance.updated');
      expect(first.payload.offset).toBe(answer.position.offset + 1);
      return first.payload;
    }
    const bob = await signIn('bob');
    const carol = await signIn('carol');
    expect((await subscribeBalances(bob)).data.userId).toBe('bob');
    expect((await subscribeBalances(carol)).data.userId).toBe('carol');

    // Bob in a second tab: when it subscribes, both of his tabs get his balance.
    const bobAgain = await signIn('bob');
    const again = await subscribeBalances(bobAgain);
    expect(again.data.userId).toBe('bob');
    await until(
      () => bob.recorder.payloads('balance.updated').some((e) => e.offset === again.offset),
      5000,
      "bob's first tab to get the balance sent for his second",
    );
    for (const [user, { recorder }] of [
      ['bob', bob],
      ['bob', bobAgain],
      ['carol', carol],
    ] as const) {
      const users = recorder.events.map((e) => e.payload?.data?.userId).filter(Boolean);
      expect(new Set(users)).toEqual(new Set([user]));
    }
  });
});
