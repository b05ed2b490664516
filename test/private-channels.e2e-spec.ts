import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import {
  AppWebSocketGateway,
  AuthFailureLog,
  EVENT_CATALOGUE,
  SessionLifetime,
  USER_CHANNELS,
  type ConnectionData,
} from '#realtime/internal';
import { GatewayHarness, Recorder, command, roundTrip, sleep } from './support/gateway-harness.js';
import { TEST_SECRET, hsToken, jwt, unsignedToken } from './support/tokens.js';

const ISSUER = 'https://auth.exchange.test';
const AUDIENCE = 'realtime';
const claims = { iss: ISSUER, aud: AUDIENCE };

/** Connects and resolves with the greeting, or rejects with the connect_error data. */
async function attempt(gateway: GatewayHarness, options: Parameters<GatewayHarness['connect']>[0]) {
  try {
    const socket = await gateway.connect(options);
    return { greeting: gateway.greeting(socket), socket };
  } catch (error) {
    return { refused: (error as { data?: { code: string } }).data };
  }
}

describe('private channels: JWT at the door (HS256, issuer and audience)', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({
      auth: { secret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCE },
    });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const valid = () => hsToken('alice', { claims });

  it.each([
    ['auth.token', () => ({ auth: { token: valid() } })],
    ['the token query parameter', () => ({ query: { token: valid() } })],
    [
      'an Authorization: Bearer header',
      () => ({ extraHeaders: { authorization: `Bearer ${valid()}` } }),
    ],
  ])(
    'accepts a valid token from %s, and keeps the user, not the token',
    async (_source, options) => {
      const { greeting, socket } = await attempt(gateway, options());
      expect(greeting).toEqual({
        connectionId: expect.any(String),
        userId: 'alice',
        serverTime: expect.any(Number),
      });
      const { handshake } = gateway.app.get(AppWebSocketGateway).server.sockets.get(socket!.id!)!;
      expect((handshake.auth as { token?: unknown }).token).toBeUndefined();
      expect(handshake.query.token).toBeUndefined();
      expect(handshake.headers.authorization).toBeUndefined();
      expect(handshake.url).not.toContain('token=');
      socket!.disconnect();
    },
  );

  it('takes the user id from userId when there is no sub, and numbers as strings', async () => {
    expect(
      (
        await attempt(gateway, {
          auth: { token: hsToken(undefined, { claims: { ...claims, userId: 'bob' } }) },
        })
      ).greeting.userId,
    ).toBe('bob');
    expect(
      (await attempt(gateway, { auth: { token: hsToken(42, { claims }) } })).greeting.userId,
    ).toBe('42');
  });

  it('keeps the roles on the connection', async () => {
    const { socket } = await attempt(gateway, {
      auth: { token: hsToken('carol', { claims: { ...claims, roles: ['admin', 'support'] } }) },
    });
    const server = gateway.app.get(AppWebSocketGateway).server;
    const data = server.sockets.get(socket!.id!)!.data as ConnectionData;
    expect(data.roles).toEqual(['admin', 'support']);
    const single = await attempt(gateway, {
      auth: { token: hsToken('dave', { claims: { ...claims, role: 'trader' } }) },
    });
    expect((server.sockets.get(single.socket!.id!)!.data as ConnectionData).roles).toEqual([
      'trader',
    ]);
  });

  it('lets a connection without a token in, anonymous', async () => {
    expect((await attempt(gateway, {})).greeting.userId).toBeNull();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refusals: Array<[string, () => unknown, string]> = [
    [
      'a wrong secret',
      () => hsToken('alice', { claims, secret: 'another-secret-of-at-least-32-characters!' }),
      'AUTH_INVALID',
    ],
    ['alg none', () => unsignedToken({ sub: 'alice', ...claims }), 'AUTH_INVALID'],
    ['an expired token', () => hsToken('alice', { claims, ttlSeconds: -60 }), 'AUTH_EXPIRED'],
    [
      'a token not valid yet',
      () => hsToken('alice', { claims: { ...claims, nbf: now() + 60 } }),
      'AUTH_INVALID',
    ],
    [
      'a wrong issuer',
      () => hsToken('alice', { claims: { ...claims, iss: 'https://evil.test' } }),
      'AUTH_INVALID',
    ],
    ['no issuer', () => hsToken('alice', { claims: { aud: AUDIENCE } }), 'AUTH_INVALID'],
    [
      'a wrong audience',
      () => hsToken('alice', { claims: { ...claims, aud: 'billing' } }),
      'AUTH_INVALID',
    ],
    ['no subject', () => hsToken(undefined, { claims }), 'AUTH_INVALID'],
    [
      'a subject with the room separator',
      () => hsToken('alice:orders', { claims }),
      'AUTH_INVALID',
    ],
    [
      'an algorithm not configured (HS384)',
      () => jwt.sign({ sub: 'alice', ...claims }, TEST_SECRET, { algorithm: 'HS384' }),
      'AUTH_INVALID',
    ],
    ['garbage', () => 'not-a-jwt', 'AUTH_INVALID'],
    ['a number', () => 12345, 'AUTH_INVALID'],
    ['a huge string', () => 'x'.repeat(9000), 'AUTH_INVALID'],
  ];

  it.each(refusals)('refuses %s with connect_error %s', async (_case, token, code) => {
    const failures = gateway.app.get(AuthFailureLog);
    const before = failures.total();
    const { refused } = await attempt(gateway, { auth: { token: token() } });
    expect(refused).toEqual({ code, message: expect.any(String) });
    expect(failures.total()).toBe(before + 1);
    for (const kind of failures.counts().keys())
      expect(kind).not.toContain(String(token()).slice(0, 30));
  });

  it('refuses a non-Bearer Authorization header', async () => {
    const { refused } = await attempt(gateway, {
      extraHeaders: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    expect(refused?.code).toBe('AUTH_INVALID');
  });
});

describe('private channels: public-key tokens', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ auth: { publicKey: publicPem } });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('accepts RS256 tokens signed with the key pair generated here', async () => {
    const token = jwt.sign({ sub: 'erin' }, privatePem, { algorithm: 'RS256', expiresIn: 60 });
    expect((await attempt(gateway, { auth: { token } })).greeting.userId).toBe('erin');
  });

  it('refuses the HS256-with-the-public-key confusion', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url');
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', publicPem)
      .update(`${header}.${body}`)
      .digest('base64url');
    const { refused } = await attempt(gateway, {
      auth: { token: `${header}.${body}.${signature}` },
    });
    expect(refused?.code).toBe('AUTH_INVALID');
  });

  it('refuses a token signed by another key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const token = jwt.sign({ sub: 'mallory' }, other, { algorithm: 'RS256', expiresIn: 60 });
    expect((await attempt(gateway, { auth: { token } })).refused?.code).toBe('AUTH_INVALID');
  });
});

describe('private channels: a gateway without a JWT key', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('serves anonymous connections and refuses every token', async () => {
    expect((await attempt(gateway, {})).greeting.userId).toBeNull();
    expect((await attempt(gateway, { auth: { token: hsToken('alice') } })).refused?.code).toBe(
      'AUTH_INVALID',
    );
  });
});

describe('private channels: isolation', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET } });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it("delivers every private event to all of its user's connections and to no one else", async () => {
    const users = Array.from({ length: 60 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
    const absentUsers = Array.from({ length: 20 }, (_, i) => `absent-${i}`);
    const connections: Array<{
      userId: string | null;
      recorder: Recorder;
      socket: Awaited<ReturnType<GatewayHarness['connect']>>;
    }> = [];
    for (const [i, userId] of users.entries()) {
      for (let copy = 0; copy < (i < 12 ? 2 : 1); copy++) {
        const socket = await gateway.connect({ auth: { token: hsToken(userId) } });
        connections.push({ userId, socket, recorder: new Recorder(socket) });
      }
    }
    for (let i = 0; i < 5; i++) {
      const socket = await gateway.connect();
      connections.push({ userId: null, socket, recorder: new Recorder(socket) });
    }
    for (const { userId, socket } of connections) {
      for (const channel of USER_CHANNELS) {
        const answer = await command(socket, 'subscribe.private', { channel });
        expect(answer.ok).toBe(userId !== null);
      }
    }

    const privateEvents = [...EVENT_CATALOGUE.values()].filter((d) => d.routing === 'user');
    expect(privateEvents).toHaveLength(14);
    let seed = 12345;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const expected = new Map<string, string[]>();
    const everyone = [...users, ...absentUsers];
    for (let n = 0; n < 1500; n++) {
      const definition = privateEvents[random(privateEvents.length)]!;
      const userId = everyone[random(everyone.length)]!;
      const eventId = `${definition.event}#${n}`;
      (expected.get(userId) ?? expected.set(userId, []).get(userId)!).push(eventId);
      gateway.emitter.emit(definition.event, { userId, eventId, amount: '1.5' });
    }
    for (const { socket } of connections) await roundTrip(socket);

    for (const { userId, recorder } of connections) {
      const received = recorder.events.filter((e) => e.payload?.data?.eventId !== undefined);
      if (userId === null) {
        expect(received).toEqual([]);
        continue;
      }
      expect(received.map((e) => e.payload.data.eventId)).toEqual(expected.get(userId) ?? []);
      for (const { name, payload } of received) {
        expect(payload.data.userId).toBe(userId);
        expect(payload.event).toBe(name);
        expect(payload.channel).toBe(EVENT_CATALOGUE.get(name)!.channel);
        expect(payload.symbol).toBeUndefined();
      }
      const seqByChannel = new Map<string, number[]>();
      for (const { payload } of received) {
        (
          seqByChannel.get(payload.channel) ??
          seqByChannel.set(payload.channel, []).get(payload.channel)!
        ).push(payload.offset);
      }
      for (const seqs of seqByChannel.values()) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });

  it('unsubscribe.private stops one channel only', async () => {
    const socket = await gateway.connect({ auth: { token: hsToken('frank') } });
    const recorder = new Recorder(socket, ['order.filled', 'balance.updated']);
    await command(socket, 'subscribe.private', { channel: 'user.orders' });
    await command(socket, 'subscribe.private', { channel: 'user.balances' });
    expect(await command(socket, 'unsubscribe.private', { channel: 'user.orders' })).toEqual({
      ok: true,
      channel: 'user.orders',
    });
    gateway.emitter.emit('order.filled', { userId: 'frank', orderId: 1 });
    gateway.emitter.emit('balance.updated', { userId: 'frank', asset: 'USDT', free: '1' });
    await roundTrip(socket);
    expect(recorder.events.map((e) => e.name)).toEqual(['balance.updated']);
  });
});

describe('private channels: expiry and refresh', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET, clockSkewSeconds: 0 } });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  /** A token that runs out at the next whole second at least `seconds` away. */
  const shortToken = (userId: string, seconds: number) => {
    const exp = Math.floor(Date.now() / 1000) + seconds;
    return { exp, token: jwt.sign({ sub: userId, exp }, TEST_SECRET, { algorithm: 'HS256' }) };
  };

  it("tells the client auth.expired and closes the connection at the token's exp", async () => {
    const { exp, token } = shortToken('gina', 2);
    const socket = await gateway.connect({ auth: { token } });
    const recorder = new Recorder(socket, ['auth.expired']);
    const closed = new Promise<{ reason: string; at: number }>((resolve) =>
      socket.once('disconnect', (reason) => resolve({ reason, at: Date.now() })),
    );
    const { reason, at } = await closed;
    expect(reason).toBe('io server disconnect');
    expect(recorder.payloads('auth.expired')).toEqual([
      { code: 'AUTH_EXPIRED', expiredAt: exp * 1000 },
    ]);
    expect(at).toBeGreaterThanOrEqual(exp * 1000);
    expect(at).toBeLessThan(exp * 1000 + 1000);
  });

  it('keeps the connection and its subscriptions after auth.refresh for the same user', async () => {
    const first = shortToken('hana', 2);
    const socket = await gateway.connect({ auth: { token: first.token } });
    await command(socket, 'subscribe.private', { channel: 'user.orders' });
    const recorder = new Recorder(socket, ['order.created', 'auth.expired']);
    const second = shortToken('hana', 60);
    expect(await command(socket, 'auth.refresh', { token: second.token })).toEqual({
      ok: true,
      expiresAt: second.exp * 1000,
    });
    await sleep(first.exp * 1000 - Date.now() + 1200);
    expect(socket.connected).toBe(true);
    gateway.emitter.emit('order.created', { userId: 'hana', orderId: 7 });
    await roundTrip(socket);
    expect(recorder.events.map((e) => e.name)).toEqual(['order.created']);
  });

  it('answers auth.refreshed without an ack', async () => {
    const socket = await gateway.connect({ auth: { token: shortToken('ivan', 30).token } });
    const recorder = new Recorder(socket, ['auth.refreshed']);
    const next = shortToken('ivan', 90);
    socket.emit('auth.refresh', { token: next.token });
    expect(await recorder.waitFor('auth.refreshed')).toEqual([
      { ok: true, expiresAt: next.exp * 1000 },
    ]);
  });

  it('refuses a refresh token for another user with FORBIDDEN and closes the connection', async () => {
    const socket = await gateway.connect({ auth: { token: shortToken('judy', 30).token } });
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const answer = await command(socket, 'auth.refresh', {
      token: shortToken('mallory', 30).token,
    });
    expect(answer).toEqual({
      ok: false,
      command: 'auth.refresh',
      error: { code: 'FORBIDDEN', message: expect.any(String) },
    });
    expect(await closed).toBe('io server disconnect');
  });

  it.each([
    [
      'an invalid token',
      () => ({ token: hsToken('kim', { secret: 'wrong-secret-wrong-secret-wrong-secret!!' }) }),
      'AUTH_INVALID',
    ],
    ['an expired token', () => ({ token: hsToken('kim', { ttlSeconds: -10 }) }), 'AUTH_EXPIRED'],
    ['no token', () => ({}), 'INVALID_PAYLOAD'],
    ['extra fields', () => ({ token: hsToken('kim'), userId: 'kim' }), 'INVALID_PAYLOAD'],
  ])('refuses a refresh with %s and keeps the current token', async (_case, body, code) => {
    const socket = await gateway.connect({ auth: { token: shortToken('kim', 30).token } });
    expect((await command(socket, 'auth.refresh', body())).error.code).toBe(code);
    expect((await command(socket, 'ping')).ok).toBe(true);
  });

  it('refuses a refresh on an anonymous connection', async () => {
    const socket = await gateway.connect();
    expect((await command(socket, 'auth.refresh', { token: hsToken('lee') })).error.code).toBe(
      'AUTH_REQUIRED',
    );
  });

  it('leaves no timer, session or room count behind once every client is gone', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gateway.connect({ auth: { token: shortToken(`temp-${i}`, 600).token } }),
      ),
    );
    for (const socket of sockets)
      await command(socket, 'subscribe.private', { channel: 'user.balances' });
    const sessions = gateway.app.get(SessionLifetime);
    expect(sessions.tracked).toBeGreaterThanOrEqual(20);
    expect(sessions.timerArmed).toBe(true);
    await gateway.disconnectAll();
    const server = gateway.app.get(AppWebSocketGateway).server;
    const deadline = Date.now() + 3000;
    while (server.sockets.size > 0 && Date.now() < deadline) await sleep(20);
    expect(server.sockets.size).toBe(0);
    expect(sessions.tracked).toBe(0);
    expect(sessions.timerArmed).toBe(false);
    expect(server.adapter.rooms.size).toBe(0);
  });
});
