import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import vm from 'node:vm';
import type { Socket } from 'socket.io-client';
import {
  ANY_POSITION,
  GatewayHarness,
  Recorder,
  command,
  sleep,
} from './support/gateway-harness.js';
import { RawEngineIo } from './support/raw-engine-io.js';
import { TEST_SECRET, hsToken, unsignedToken } from './support/tokens.js';

/*
 * A seeded, bounded fuzz of the gateway's socket: raw Engine.IO / Socket.IO frames and random
 * command payloads from many connections, while well-behaved clients take a steady trade feed.
 * Every connection draws its frames from its own generator, seeded from SEED and its index,
 * so a reported connection replays exactly. Replay another seed with FUZZ_SEED=0x... .
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eedf022) >>> 0;
const RAW_CONNECTIONS = 160;
const RAW_CONCURRENCY = 8;
const MAX_RAW_FRAMES = 5000;
const SIO_FUZZERS = 6;
const BYSTANDERS = 3;
/** The fuzz stops sending at this point even if frames are left. */
const FUZZ_TIME_CAP_MS = 15_000;
const FEED_INTERVAL_MS = 5;
/** How long the server may take to answer anything a fuzzer waits for before it is a hang. */
const ANSWER_TIMEOUT_MS = 5000;
const HEALTH_INTERVAL_MS = 200;

const SYMBOL = 'FUZZUSDT';
const OTHER = 'FUZZETH';
const KNOWN_CODES = new Set([
  'INVALID_PAYLOAD',
  'UNKNOWN_CHANNEL',
  'INVALID_SYMBOL',
  'INVALID_INTERVAL',
  'AUTH_REQUIRED',
  'AUTH_INVALID',
  'AUTH_EXPIRED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'SUBSCRIPTION_LIMIT',
  'CONNECTION_LIMIT',
]);
const COMMANDS = [
  'subscribe',
  'unsubscribe',
  'subscribe.private',
  'unsubscribe.private',
  'ping',
  'auth.refresh',
];
const MARKET_CHANNELS = ['ticker', 'orderbook', 'trades', 'klines'];
const USER_CHANNELS = [
  'user.orders',
  'user.trades',
  'user.balances',
  'user.deposits',
  'user.positions',
];
const INTERVALS = ['1m', '3m', '5m', '15m', '30m', '1h', '4h', '1d', '1w', '1M'];
const RESERVED_EVENTS = [
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
];
const ODD_EVENTS = [
  'error',
  'connected',
  'trade',
  'pong',
  'subscribed',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'SUBSCRIBE',
  'subscribe ',
  '',
  'x'.repeat(300),
  '\u0000',
  '\ud800',
];
const OBJECT_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'then',
  'length',
  'channel',
  'symbol',
  'interval',
  'token',
  'userId',
  '_placeholder',
  'num',
  '',
];
const ODD_STRINGS = [
  '',
  ' ',
  'all',
  'ALL',
  'btc:usdt',
  'BTC USDT',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\ud800',
  '\u202e',
  'ß',
  'ı',
  '🚀',
  '{"__proto__":1}',
  'null',
  'undefined',
  SYMBOL.toLowerCase(),
];

/** A small deterministic PRNG (mulberry32). */
class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(count: number): Buffer {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i++) out[i] = this.int(256);
    return out;
  }

  ascii(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += String.fromCharCode(32 + this.int(95));
    return out;
  }
}

/** The seed of connection `index`: each connection's frames depend on nothing else. */
const connectionSeed = (kind: number, index: number) =>
  (SEED ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(kind, 0x85ebca77)) >>> 0;

/** Tokens a fuzzer may present, made once the test starts (they carry `exp`). */
interface TokenPool {
  any: string[];
  userA: string;
  userB: string;
}

function makeTokens(): TokenPool {
  const userA = hsToken('fuzz-a');
  const userB = hsToken('fuzz-b');
  return {
    userA,
    userB,
    any: [
      userA,
      userB,
      hsToken(7),
      hsToken('fuzz-a', { ttlSeconds: -60 }),
      // Expired, but within the tolerated clock skew: the connection ends within two seconds.
      hsToken('fuzz-a', { ttlSeconds: -3 }),
      hsToken('fuzz-a', { secret: 'another-secret-that-is-at-least-32-characters' }),
      hsToken('fuzz-a', { claims: { roles: ['admin', 1, null], role: 'admin' } }),
      hsToken(undefined),
      hsToken('not a user id!'),
      hsToken(-1),
      unsignedToken({ sub: 'fuzz-a' }),
      'not.a.jwt',
      'a.b.c',
      '...',
      'Bearer ' + userA,
      'x'.repeat(9000),
    ],
  };
}

/** Random JSON text of every type; `room` bounds its length (roughly). */
function jsonText(rng: Rng, room: number, depth = 0): string {
  const kind = depth > 5 || room < 40 ? rng.int(6) : rng.int(14);
  switch (kind) {
    case 0:
      return 'null';
    case 1:
      return rng.chance(0.5) ? 'true' : 'false';
    case 2:
      return rng.pick([
        '0',
        '-0',
        '1',
        '-1',
        '42',
        '3.14',
        '1e308',
        '1e400',
        '-1e400',
        '2147483648',
        '9007199254740993',
        '123456789012345678901234567890',
        '0.0000000000000000000001',
      ]);
    case 3:
      return JSON.stringify(rng.pick(ODD_STRINGS));
    case 4:
      return JSON.stringify(rng.ascii(rng.int(Math.min(room, 64))));
    case 5:
      return rng.pick(['[]', '{}', '[null]', '[[]]', '{"":{}}']);
    case 6:
      return JSON.stringify(rng.ascii(rng.int(Math.min(room, 4000))));
    case 7:
    case 8: {
      const items: string[] = [];
      const count = rng.int(6);
      for (let i = 0; i < count; i++) items.push(jsonText(rng, room / (count + 1), depth + 1));
      return `[${items.join(',')}]`;
    }
    case 9:
    case 10: {
      const pairs: string[] = [];
      const count = rng.int(6);
      for (let i = 0; i < count; i++) {
        const key = rng.chance(0.8) ? rng.pick(OBJECT_KEYS) : rng.ascii(rng.int(12));
        pairs.push(`${JSON.stringify(key)}:${jsonText(rng, room / (count + 1), depth + 1)}`);
      }
      return `{${pairs.join(',')}}`;
    }
    case 11: {
      const levels = 1 + rng.int(Math.max(1, Math.min(room / 2, 7000)));
      return '['.repeat(levels) + ']'.repeat(levels);
    }
    case 12: {
      const levels = 1 + rng.int(Math.max(1, Math.min(room / 6, 2500)));
      return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    }
    default:
      return marketPayload(rng);
  }
}

/** A subscription payload: valid, nearly valid, or wrong in one way. */
function marketPayload(rng: Rng): string {
  const payload: Record<string, unknown> = {};
  if (!rng.chance(0.05)) payload.channel = rng.chance(0.85) ? rng.pick(MARKET_CHANNELS) : odd(rng);
  if (!rng.chance(0.05)) {
    payload.symbol = rng.chance(0.8)
      ? rng.pick([SYMBOL, OTHER, SYMBOL.toLowerCase(), 'all', `FZ${rng.int(500)}`])
      : odd(rng);
  }
  if (payload.channel === 'klines' ? !rng.chance(0.1) : rng.chance(0.1)) {
    payload.interval = rng.chance(0.85) ? rng.pick(INTERVALS) : odd(rng);
  }
  let text = JSON.stringify(payload);
  if (rng.chance(0.1))
    text = text.replace('{', `{"${rng.pick(OBJECT_KEYS)}":${jsonText(rng, 80)},`);
  return text.replace(/,}$/, '}');
}

function userPayload(rng: Rng): string {
  if (rng.chance(0.1)) return jsonText(rng, 200);
  const channel = rng.chance(0.85) ? rng.pick(USER_CHANNELS) : odd(rng);
  const extra = rng.chance(0.1) ? { userId: 'fuzz-b' } : {};
  return JSON.stringify({ channel, ...extra });
}

function refreshPayload(rng: Rng, tokens: TokenPool): string {
  if (rng.chance(0.15)) return jsonText(rng, 200);
  const token = rng.chance(0.8) ? rng.pick(tokens.any) : odd(rng);
  return rng.chance(0.1)
    ? JSON.stringify({ token, other: 1 })
    : `{"token":${JSON.stringify(token)}}`;
}

function odd(rng: Rng): unknown {
  return JSON.parse(jsonText(rng, 60));
}

/** The JSON arguments after the event name, without brackets. */
function commandArguments(rng: Rng, event: string, tokens: TokenPool): string[] {
  const count = rng.chance(0.8) ? 1 : rng.int(4);
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    if (rng.chance(0.03)) args.push(deepJson(rng));
    else if (rng.chance(0.2)) args.push(jsonText(rng, 500));
    else if (event === 'subscribe' || event === 'unsubscribe') args.push(marketPayload(rng));
    else if (event.endsWith('.private')) args.push(userPayload(rng));
    else if (event === 'auth.refresh') args.push(refreshPayload(rng, tokens));
    else args.push(jsonText(rng, 300));
  }
  return args;
}

/** Thousands of levels of arrays or objects, within the 16 KB frame limit. */
function deepJson(rng: Rng): string {
  if (rng.chance(0.5)) {
    const levels = 1000 + rng.int(6000);
    return '['.repeat(levels) + ']'.repeat(levels);
  }
  const levels = 500 + rng.int(2000);
  return '{"a":'.repeat(levels) + 'null' + '}'.repeat(levels);
}

function eventName(rng: Rng): string {
  const r = rng.next();
  if (r < 0.8) return JSON.stringify(rng.pick(COMMANDS));
  if (r < 0.92) return JSON.stringify(rng.pick(ODD_EVENTS));
  if (r < 0.96) return rng.pick(['0', '42', '-1', '1e21', '3.5']);
  return JSON.stringify(rng.pick(RESERVED_EVENTS));
}

function namespace(rng: Rng): string {
  if (rng.chance(0.85)) return '/ws,';
  return rng.pick([
    '',
    '/',
    '/,',
    '/ws',
    '/nope,',
    '/WS,',
    '/ws/,',
    '/ws,/ws,',
    `/${'n'.repeat(3000)},`,
  ]);
}

function ackId(rng: Rng): string {
  if (!rng.chance(0.4)) return '';
  return rng.pick([String(rng.int(1000)), '0', '00', '99999999999999999999', String(2 ** 53)]);
}

/** One frame to send: text, binary, text with invalid UTF-8, or fragmented. */
interface Frame {
  data: string | Buffer;
  binary?: boolean;
  fragments?: number;
}

/** A Socket.IO packet (the part after Engine.IO's `4`), plus any binary attachments. */
function socketIoPacket(rng: Rng, tokens: TokenPool): Frame[] {
  const r = rng.next();
  if (r < 0.7) {
    const event = eventName(rng);
    const args = commandArguments(rng, String(JSON.parse(event)), tokens);
    return [{ data: `2${namespace(rng)}${ackId(rng)}[${[event, ...args].join(',')}]` }];
  }
  if (r < 0.76) {
    // An ack for an ack id the server never used.
    return [{ data: `3${namespace(rng)}${rng.int(50)}[${jsonText(rng, 200)}]` }];
  }
  if (r < 0.78) {
    // CONNECT again, with or without auth; kept rare: each counts against the per-address rate.
    return [{ data: `0${namespace(rng)}${rng.chance(0.5) ? connectAuth(rng, tokens) : ''}` }];
  }
  if (r < 0.8) return [{ data: `1${namespace(rng)}` }];
  if (r < 0.82) return [{ data: `4${namespace(rng)}${jsonText(rng, 100)}` }];
  if (r < 0.89) return binaryEvent(rng, tokens);
  if (r < 0.93) return [{ data: `${rng.pick(['7', '8', '9', 'x', '-', ' ', ''])}/ws,[]` }];
  // Broken JSON or framing after a valid-looking header.
  const body = rng.pick([
    '[',
    '["ping"',
    '{"a":',
    'abc',
    '[]',
    '{}',
    '"ping"',
    '["subscribe",{"channel":"trades","symbol":"FUZZUSDT"}]]',
    "['ping']",
    '["ping",]',
    '[NaN]',
    '[undefined]',
    '["\\ud800"]',
  ]);
  return [{ data: `2${namespace(rng)}${ackId(rng)}${body}` }];
}

/** A BINARY_EVENT with placeholders, followed by the right, too few or wrong attachments. */
function binaryEvent(rng: Rng, tokens: TokenPool): Frame[] {
  const declared = rng.pick([1, 1, 2, 3, 11, 0, -1]);
  const num = rng.pick([0, 0, 1, 2, 5, -1, '"0"', 'null', '1.5']);
  const placeholder = `{"_placeholder":true,"num":${num}}`;
  const event = JSON.stringify(rng.pick([...COMMANDS, 'unknown.binary']));
  const payload = rng.chance(0.5)
    ? placeholder
    : `{"channel":${placeholder},"symbol":"${SYMBOL}","token":${placeholder}}`;
  const frames: Frame[] = [
    { data: `5${declared}-${namespace(rng)}${ackId(rng)}[${event},${payload}]` },
  ];
  if (rng.chance(0.15)) {
    // Thousands of levels around the placeholder: the server rebuilds the packet recursively.
    const levels = 1000 + rng.int(6000);
    frames[0]!.data = `51-/ws,[${event},${'['.repeat(levels)}${placeholder}${']'.repeat(levels)}]`;
  }
  const sent = rng.pick([0, 1, 1, 2, 3]);
  for (let i = 0; i < sent; i++) frames.push({ data: rng.bytes(rng.int(64)) });
  if (rng.chance(0.3)) frames.push(...socketIoPacket(rng, tokens));
  return frames;
}

function asEngineMessage(frame: Frame): Frame {
  return typeof frame.data === 'string' ? { ...frame, data: '4' + frame.data } : frame;
}

function connectAuth(rng: Rng, tokens: TokenPool): string {
  return rng.pick([
    () => `{"token":${JSON.stringify(rng.pick(tokens.any))}}`,
    () => `{"token":${jsonText(rng, 100)}}`,
    () => jsonText(rng, 200),
    () => '{"__proto__":{"token":"x"}}',
    () => '"not an object"',
  ])();
}

/**
 * A frame the server must take without closing the connection: an event (known or not) or
 * an ack on /ws with random JSON arguments, a pong, a noop.
 */
function benignFrame(rng: Rng, tokens: TokenPool, nsp: string): Frame {
  const r = rng.next();
  if (r < 0.9) {
    const event = rng.chance(0.9) ? rng.pick(COMMANDS) : rng.pick(ODD_EVENTS);
    const args = commandArguments(rng, event, tokens);
    return { data: `42${nsp}${ackId(rng)}[${[JSON.stringify(event), ...args].join(',')}]` };
  }
  if (r < 0.95) return { data: `43${nsp}${rng.int(50)}[${jsonText(rng, 200)}]` };
  return { data: rng.pick(['3', '6']) };
}

/**
 * One random Engine.IO-level frame (most carry a Socket.IO packet); with probability
 * `1 - wildness` a benign one, otherwise anything, most of which ends the connection.
 */
function engineFrames(rng: Rng, tokens: TokenPool, wildness: number, nsp: string): Frame[] {
  if (!rng.chance(wildness)) return [benignFrame(rng, tokens, nsp)];
  const r = rng.next();
  if (r < 0.84) {
    const frames = socketIoPacket(rng, tokens).map(asEngineMessage);
    if (rng.chance(0.03)) frames[0]!.fragments = 2 + rng.int(4);
    return frames;
  }
  if (r < 0.9) {
    return [
      {
        data: rng.pick([
          '',
          '0',
          '0{}',
          '1',
          '2',
          '3',
          '5',
          '6',
          '7',
          '9',
          'x',
          '2probe',
          '3probe',
          '5probe',
          '4',
        ]),
      },
    ];
  }
  if (r < 0.93) return [{ data: rng.bytes(rng.int(2048)) }];
  if (r < 0.95) {
    // Text frame whose bytes are not UTF-8.
    return [
      {
        data: Buffer.concat([Buffer.from('42/ws,["ping","'), rng.bytes(8), Buffer.from('"]')]),
        binary: false,
      },
    ];
  }
  if (r < 0.97)
    return [{ data: 'b' + rng.pick([rng.bytes(32).toString('base64'), '!!!', '', '====']) }];
  // Past the frame limit: a string of a few hundred KB in a real command.
  const huge = 'H'.repeat(20_000 + rng.int(300_000));
  return [{ data: `42/ws,["${rng.pick(COMMANDS)}",{"channel":"trades","symbol":"${huge}"}]` }];
}

function describeFrame(frame: Frame): string {
  const { data } = frame;
  const text =
    typeof data === 'string'
      ? JSON.stringify(data.length > 160 ? data.slice(0, 160) : data) +
        (data.length > 160 ? `...(${data.length} chars)` : '')
      : `<${frame.binary === false ? 'non-UTF-8 text' : 'binary'} ${data.length} bytes ${data
          .subarray(0, 24)
          .toString('hex')}>`;
  return frame.fragments ? `${text} in ${frame.fragments} fragments` : text;
}

/** Whether a received body breaks the documented reply shape; the problem, or null. */
function replyProblem(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const reply = body as { ok?: unknown; command?: unknown; error?: any };
  if (reply.error?.code === 'INTERNAL') return 'the gateway answered INTERNAL';
  if (reply.ok !== false) return null;
  if (typeof reply.command !== 'string') return 'refusal without a command';
  if (!KNOWN_CODES.has(reply.error?.code)) return `refusal with code ${String(reply.error?.code)}`;
  if (typeof reply.error.message !== 'string' || reply.error.message.length >= 300) {
    return 'refusal without a short message';
  }
  return null;
}

/** The problem with a raw frame the server sent, if it is a malformed answer. */
function serverFrameProblem(frame: string | Buffer): string | null {
  if (typeof frame !== 'string') return null;
  const match = /^4(2|3)\/ws,(\d*)(\[.*)$/s.exec(frame);
  if (!match) return null;
  let args: unknown[];
  try {
    args = JSON.parse(match[3]!) as unknown[];
  } catch {
    return 'the server sent invalid JSON';
  }
  const body = match[1] === '2' ? (args[0] === 'error' ? args[1] : undefined) : args[0];
  return replyProblem(body);
}

function trade(symbol: string, tradeId: number) {
  return {
    symbol,
    tradeId,
    price: `${100 + (tradeId % 50)}.25`,
    quantity: '0.5',
    side: tradeId % 2 ? 'buy' : 'sell',
    timestamp: 1_700_000_000_000 + tradeId,
  };
}

/** The first way `received` differs from the trades expected from `sent[from]` on; or null. */
function feedDifference(received: any[], sent: unknown[], from: number): string | null {
  const expected = sent.slice(from);
  for (let i = 0; i < Math.max(received.length, expected.length); i++) {
    const envelope = received[i];
    const data = expected[i];
    if (envelope === undefined)
      return `missing offset ${from + i + 1} and ${expected.length - i - 1} after it`;
    if (data === undefined)
      return `unexpected extra message ${JSON.stringify(envelope).slice(0, 200)}`;
    const ok =
      envelope.channel === 'trades' &&
      envelope.event === 'trade' &&
      envelope.symbol === SYMBOL &&
      envelope.offset === from + i + 1 &&
      envelope.replay === undefined &&
      typeof envelope.ts === 'number' &&
      JSON.stringify(envelope.data) === JSON.stringify(data);
    if (!ok) {
      return `message ${i} is ${JSON.stringify(envelope).slice(0, 300)}, expected offset ${from + i + 1} with ${JSON.stringify(data)}`;
    }
  }
  return null;
}

/** The promise's value, or 'timeout' after `ms`; leaves no timer behind. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records what the server logs at error level. */
class ErrorLog implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push([message, ...rest].map((part) => String(part).slice(0, 500)).join(' | '));
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.error(message, ...rest);
  }
}

/**
 * Jest gives each test file its own copy of `process`: listeners added to it never hear
 * the real process's events. Code run in the main context sees the real one.
 */
const hostProcess = vm.runInThisContext('process') as NodeJS.Process;

describe(`gateway fuzz (seed 0x${SEED.toString(16)})`, () => {
  let gateway: GatewayHarness;
  let tokens: TokenPool;
  const serverErrors = new ErrorLog();
  const processErrors: string[] = [];
  const raws = new Set<RawEngineIo>();
  /** The last frames sent by anyone, to show what came right before a failure. */
  const recentFrames: string[] = [];
  const problems: string[] = [];
  let feed: NodeJS.Timeout | undefined;
  /** Fuzzers stop sending past this; afterAll sets it to 0 to stop stragglers of a failed run. */
  let deadline = 0;

  const onProcessError = (kind: string) => (error: unknown) => {
    processErrors.push(
      `${kind}: ${error instanceof Error ? error.stack : String(error)}\n` +
        `  last frames sent:\n    ${recentFrames.join('\n    ')}`,
    );
  };
  const onUncaught = onProcessError('uncaughtException');
  const onUnhandled = onProcessError('unhandledRejection');

  beforeAll(async () => {
    hostProcess.on('uncaughtException', onUncaught);
    hostProcess.on('unhandledRejection', onUnhandled);
    gateway = await GatewayHarness.start({ auth: { secret: TEST_SECRET } });
    gateway.app.useLogger(serverErrors);
    tokens = makeTokens();
  });

  afterAll(async () => {
    deadline = 0;
    clearInterval(feed);
    for (const raw of raws) raw.terminate();
    await gateway?.stop();
    hostProcess.off('uncaughtException', onUncaught);
    hostProcess.off('unhandledRejection', onUnhandled);
  });

  it(`keeps serving bystanders and new clients through ${RAW_CONNECTIONS} raw and ${SIO_FUZZERS} Socket.IO fuzzers (seed 0x${SEED.toString(16)})`, async () => {
    const started = Date.now();
    deadline = started + FUZZ_TIME_CAP_MS;
    let rawFrames = 0;
    let sioCommands = 0;

    // Well-behaved bystanders, subscribed before the feed starts: they must get all of it.
    const bystanders: Array<{ socket: Socket; recorder: Recorder; from: number }> = [];
    for (let i = 0; i < BYSTANDERS; i++) {
      const socket = await gateway.connect();
      const recorder = new Recorder(socket, ['trade']);
      expect(await command(socket, 'subscribe', { channel: 'trades', symbol: SYMBOL })).toEqual({
        ok: true,
        channel: 'trades',
        symbol: SYMBOL,
        position: ANY_POSITION,
      });
      bystanders.push({ socket, recorder, from: 0 });
    }

    // The feed: a trade on SYMBOL every few ms, other market data on OTHER for the fuzzers.
    const sent: Array<ReturnType<typeof trade>> = [];
    let tick = 0;
    let bookId = 1;
    gateway.emitter.emit('orderbook.snapshot', {
      symbol: OTHER,
      lastUpdateId: bookId,
      bids: [['99.5', '1']],
      asks: [['100.5', '1']],
    });
    const feedStart = Date.now();
    feed = setInterval(() => {
      tick++;
      // One trade per interval on average: a late timer (a busy event loop) catches up.
      const due = Math.floor((Date.now() - feedStart) / FEED_INTERVAL_MS);
      for (let n = 0; n < 4 && sent.length < due; n++) {
        const next = trade(SYMBOL, sent.length + 1);
        sent.push(next);
        gateway.emitter.emit('trade', next);
      }
      if (tick % 4 === 0) gateway.emitter.emit('trade', trade(OTHER, tick));
      if (tick % 10 === 0) {
        bookId++;
        gateway.emitter.emit('orderbook.update', {
          symbol: OTHER,
          firstUpdateId: bookId,
          lastUpdateId: bookId,
          bids: [[`99.${tick % 10}`, String(tick % 3)]],
          asks: [],
        });
        gateway.emitter.emit('ticker.update', { symbol: OTHER, lastPrice: `${tick}.5` });
        gateway.emitter.emit('kline.update', {
          symbol: OTHER,
          interval: '1m',
          openTime: 1_700_000_000_000,
          close: `${tick}`,
          closed: false,
        });
      }
      if (tick % 25 === 0) {
        gateway.emitter.emit('order.created', { userId: 'fuzz-a', orderId: tick, symbol: OTHER });
        gateway.emitter.emit('system.alert', { message: `fuzz ${tick}`, level: 'info' });
      }
    }, FEED_INTERVAL_MS);

    // Liveness of the HTTP side all along.
    const health: Array<number | string> = [];
    let fuzzing = true;
    const healthLoop = (async () => {
      while (fuzzing) {
        try {
          const response = await fetch(`${gateway.url}/health`, {
            signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
          });
          health.push(response.status);
          await response.arrayBuffer();
        } catch (error) {
          health.push(String(error));
        }
        await sleep(HEALTH_INTERVAL_MS);
      }
    })();

    /** Connections and subscriptions (all channels) the server counts, from /metrics. */
    const serverHolds = async () => {
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      const connections = Number(/^realtime_connections (\d+)/m.exec(text)?.[1]);
      let subscriptions = 0;
      for (const [, count] of text.matchAll(/^realtime_subscriptions\{[^}]*\} (\d+)/gm)) {
        subscriptions += Number(count);
      }
      return { connections, subscriptions };
    };

    const remember = (who: string, frame: Frame) => {
      recentFrames.push(`${who}: ${describeFrame(frame)}`);
      if (recentFrames.length > 30) recentFrames.shift();
    };

    /** One raw Engine.IO connection: open, maybe join /ws, random frames, then a probe. */
    const rawFuzzer = async (index: number) => {
      const rng = new Rng(connectionSeed(1, index));
      const who = `raw #${index} (seed 0x${connectionSeed(1, index).toString(16)})`;
      const log: string[] = [];
      const report = (problem: string): void => {
        problems.push(`${who}: ${problem}\n  frames sent:\n    ${log.join('\n    ')}`);
      };
      const query = rng.chance(0.85)
        ? ''
        : rng.pick([
            `&token=${encodeURIComponent(rng.pick(tokens.any))}`,
            '&token=a&token=b',
            '&EIO=3',
            '&sid=unknown',
            '&transport=polling',
          ]);
      const headers: Record<string, string> = rng.chance(0.1)
        ? {
            authorization: rng.pick([
              `Bearer ${rng.pick(tokens.any)}`,
              'Basic abc',
              'Bearer',
            ] as const),
          }
        : {};
      log.push(`open ?EIO=4&transport=websocket${query} ${JSON.stringify(headers)}`);
      const raw = new RawEngineIo(gateway.url, query, headers);
      raws.add(raw);
      const send = (frame: Frame): boolean => {
        log.push(describeFrame(frame));
        remember(who, frame);
        return frame.fragments
          ? raw.sendFragmented(frame.data, frame.fragments, frame.binary)
          : raw.send(frame.data, { binary: frame.binary });
      };
      try {
        const open = await within(raw.opened, ANSWER_TIMEOUT_MS);
        if (open === 'timeout') return report('no Engine.IO open packet');
        if (open === null) return; // refused at the upgrade (a query no server takes)

        // Most join /ws (some with a token), some the main namespace, an unknown one or none.
        const mode = rng.next();
        const nsp = mode >= 0.68 && mode < 0.76 ? '' : '/ws,';
        if (mode < 0.68) {
          const token = rng.chance(0.75) ? undefined : rng.pick([tokens.userA, ...tokens.any]);
          send({ data: token ? `40/ws,{"token":${JSON.stringify(token)}}` : '40/ws,' });
          // A second CONNECT while the server still decides on the first.
          if (mode >= 0.56 && mode < 0.62) send({ data: '40/ws,' });
          if (mode >= 0.62) {
            // Gone while the server still decides on the CONNECT.
            log.push('-- vanish right after CONNECT');
            if (rng.chance(0.5)) raw.terminate();
            else raw.close();
            return;
          }
          const answer = await raw.waitFor(
            (frame) => frame.startsWith('40/ws,') || frame.startsWith('44/ws,'),
            ANSWER_TIMEOUT_MS,
          );
          if (answer === 'timeout')
            return report('CONNECT to /ws neither accepted, refused nor closed');
        } else if (mode < 0.76) {
          send({ data: '40' });
        } else if (mode < 0.81) {
          send({ data: '40/nope,' });
        }

        // Some connections send only frames the server must take, others the odd bad one.
        const wildness = rng.pick([0, 0, 0.02, 0.05, 0.2, 1]);
        const frames = 20 + rng.int(160);
        for (let i = 0; i < frames && raw.isOpen; i++) {
          if (rawFrames >= MAX_RAW_FRAMES || Date.now() > deadline) break;
          if (rng.chance(0.004)) {
            const how = rng.pick(['close', 'terminate', '41/ws,', '1'] as const);
            log.push(`-- ${how} mid-stream`);
            if (how === 'close') raw.close();
            else if (how === 'terminate') raw.terminate();
            else send({ data: how });
            if (how === 'close' || how === 'terminate') return;
            continue;
          }
          for (const frame of engineFrames(rng, tokens, wildness, nsp)) {
            if (send(frame)) rawFrames++;
          }
          if (rng.chance(0.3)) await sleep(rng.int(4));
          else if (i % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
        }

        // Whatever came before, a ping now must be answered or the connection closed.
        for (const frame of raw.received) {
          const problem = serverFrameProblem(frame);
          if (problem) report(`${problem}: ${String(frame).slice(0, 300)}`);
        }
        if (raw.isOpen) {
          const id = 900_000 + index;
          send({ data: `42/ws,${id}["ping"]` });
          const outcome = await raw.waitFor(
            (frame) => frame.startsWith(`43/ws,${id}[`),
            ANSWER_TIMEOUT_MS,
          );
          if (outcome === 'timeout')
            report('a ping was neither answered nor the connection closed');
        }
      } finally {
        if (rng.chance(0.5)) raw.close();
        else raw.terminate();
      }
    };

    /** A real Socket.IO client sending random payloads to the commands, with and without acks. */
    const sioFuzzer = async (index: number) => {
      const rng = new Rng(connectionSeed(2, index));
      const who = `socket.io #${index} (seed 0x${connectionSeed(2, index).toString(16)})`;
      const log: string[] = [];
      const report = (problem: string): void => {
        problems.push(`${who}: ${problem}\n  sent:\n    ${log.slice(-15).join('\n    ')}`);
      };
      const nearlyExpired = { token: hsToken(`fuzz-sio-${index}`, { ttlSeconds: -3 }) };
      const auth = rng.pick([
        {},
        { token: tokens.userA },
        { token: hsToken(`fuzz-sio-${index}`) },
        // Expired but within the tolerated skew: the server ends it within two seconds.
        nearlyExpired,
      ]);
      let socket: Awaited<ReturnType<typeof gateway.connect>>;
      try {
        socket = await gateway.connect({ auth });
      } catch (error) {
        // On a busy machine the skew may have run out before the handshake was read: the
        // documented refusal, not a fault.
        if (auth === nearlyExpired && /token has expired/.test(String(error))) return;
        throw error;
      }
      let closedFor: string | undefined;
      socket.onAny((event: string, body: any) => {
        if (event === 'server.disconnect' || event === 'auth.expired') closedFor = event;
        if (event === 'error') {
          if (body?.error?.code === 'FORBIDDEN') closedFor = 'FORBIDDEN';
          const problem = replyProblem(body);
          if (problem) report(`${problem}: ${JSON.stringify(body).slice(0, 300)}`);
        }
      });
      const actions = 20 + rng.int(30);
      for (let i = 0; i < actions && socket.connected && Date.now() < deadline; i++) {
        const event = rng.chance(0.9) ? rng.pick(COMMANDS) : rng.pick(ODD_EVENTS.slice(0, 12));
        // socket.io-client's encoder recurses: deep nesting is for the raw fuzzers only.
        const args: unknown[] = commandArguments(rng, event, tokens).map((text) =>
          text.length > 1500 ? null : JSON.parse(text),
        );
        if (rng.chance(0.1)) {
          args.push(rng.bytes(rng.int(512)));
          // Socket.IO itself closes a connection whose binary packet holds an object that
          // looks like an attachment placeholder (`_placeholder: true`) but is not one.
          if (JSON.stringify(args).includes('"_placeholder":true')) {
            closedFor ??= 'a placeholder look-alike beside binary data';
          }
        }
        log.push(`${event} ${JSON.stringify(args).slice(0, 200)}`);
        remember(who, { data: `emit ${event} ${JSON.stringify(args)}` });
        sioCommands++;
        if (rng.chance(0.6)) {
          try {
            const answer = await socket.timeout(ANSWER_TIMEOUT_MS).emitWithAck(event, ...args);
            if (answer?.error?.code === 'FORBIDDEN') closedFor = 'FORBIDDEN';
            const problem = replyProblem(answer);
            if (problem) report(`${problem}: ${JSON.stringify(answer).slice(0, 300)}`);
          } catch (error) {
            // Closed meanwhile: judged below. Connected, a timeout is a lost answer and any
            // other error this test's own.
            if (socket.connected) {
              if (!/timed out/.test(String(error))) throw error;
              report(`no ack for ${event} within ${ANSWER_TIMEOUT_MS} ms`);
            }
          }
        } else {
          socket.emit(event, ...args);
        }
        await sleep(rng.int(40));
      }
      await sleep(300);
      if (socket.connected) {
        const answer = await command(socket, 'ping').catch(() => 'no answer');
        if (answer?.ok !== true && answer?.error?.code !== 'RATE_LIMITED') {
          report(`the final ping got ${JSON.stringify(answer)}`);
        }
      } else if (!closedFor) {
        report('the server closed the connection without a documented reason');
      }
      socket.disconnect();
    };

    // A fuzzer that throws (a bug of this test, or a server refusing a well-formed client) is
    // reported, and the others run to their end.
    const failed = (who: string) => (error: unknown) => {
      problems.push(`${who} threw: ${error instanceof Error ? error.stack : String(error)}`);
    };

    // The raw connections, a few at a time; a late bystander joins half way.
    let nextRaw = 0;
    let lateBystander: Promise<void> | undefined;
    const rawWorker = async () => {
      while (nextRaw < RAW_CONNECTIONS && Date.now() < deadline) {
        const index = nextRaw++;
        if (index === RAW_CONNECTIONS / 2) {
          lateBystander = (async () => {
            const socket = await gateway.connect();
            const recorder = new Recorder(socket, ['trade']);
            await command(socket, 'subscribe', { channel: 'trades', symbol: SYMBOL });
            bystanders.push({ socket, recorder, from: -1 });
          })().catch(failed('the late bystander'));
        }
        await rawFuzzer(index).catch(failed(`raw #${index}`));
      }
    };
    await Promise.all([
      ...Array.from({ length: RAW_CONCURRENCY }, rawWorker),
      ...Array.from({ length: SIO_FUZZERS }, (_, i) =>
        sioFuzzer(i).catch(failed(`socket.io #${i}`)),
      ),
    ]);
    await lateBystander;
    await sleep(100);
    clearInterval(feed);
    fuzzing = false;
    await healthLoop;
    const fuzzMs = Date.now() - started;

    // Every bystander got every trade since it subscribed, in order, gap-free.
    const feeds: Array<{ live: any[]; start: number }> = [];
    for (const [i, { socket, recorder, from }] of bystanders.entries()) {
      await command(socket, 'ping');
      const received = recorder.payloads('trade');
      const replayed = received.filter((envelope) => envelope.replay);
      const live = received.filter((envelope) => !envelope.replay);
      // A late subscriber starts at the offset its replay carries (the room's count when it joined).
      const start = from >= 0 ? from : (replayed[0]?.offset ?? (live[0]?.offset ?? 1) - 1);
      feeds.push({ live, start });
      if (from >= 0 && replayed.length > 0) problems.push(`bystander ${i}: unexpected replay`);
      const replayedData = JSON.stringify(replayed.map((envelope) => envelope.data));
      if (replayedData !== JSON.stringify(sent.slice(start - replayed.length, start))) {
        problems.push(`bystander ${i}: replay is not the last trades before offset ${start + 1}`);
      }
      const difference = feedDifference(live, sent, start);
      if (difference) problems.push(`bystander ${i} (from offset ${start + 1}): ${difference}`);
    }
    console.info(
      `fuzz seed 0x${SEED.toString(16)}: ${rawFrames} raw frames on ${nextRaw} raw connections, ` +
        `${sioCommands} Socket.IO commands, ${sent.length} trades fed, ${health.length} health ` +
        `checks, in ${fuzzMs} ms`,
    );
    // The most telling first: a crash, then what the fuzzers and bystanders saw, then logs.
    expect(processErrors).toEqual([]);
    expect(problems).toEqual([]);
    expect(serverErrors.errors).toEqual([]);
    expect(health.filter((status) => status !== 200)).toEqual([]);
    expect(health.length).toBeGreaterThan(0);
    for (const { live, start } of feeds) {
      expect(live.map((envelope) => envelope.offset)).toEqual(
        sent.slice(start).map((_, k) => start + k + 1),
      );
      expect(live.map((envelope) => envelope.data)).toEqual(sent.slice(start));
    }
    expect(nextRaw).toBe(RAW_CONNECTIONS);
    expect(rawFrames).toBeGreaterThanOrEqual(1000);

    // A fresh client connects, subscribes, gets its replay and the next trade, and gets pong.
    const fresh = await gateway.connect();
    const freshEvents = new Recorder(fresh, ['trade', 'pong']);
    expect(await command(fresh, 'subscribe', { channel: 'trades', symbol: SYMBOL })).toEqual({
      ok: true,
      channel: 'trades',
      symbol: SYMBOL,
      position: ANY_POSITION,
    });
    const last = trade(SYMBOL, sent.length + 1);
    sent.push(last);
    gateway.emitter.emit('trade', last);
    fresh.emit('ping');
    await freshEvents.waitFor('pong');
    const freshTrades = freshEvents.payloads('trade');
    expect(freshTrades.at(-1)).toEqual({
      channel: 'trades',
      event: 'trade',
      symbol: SYMBOL,
      offset: sent.length,
      epoch: expect.any(String),
      ts: expect.any(Number),
      data: last,
    });
    expect(freshTrades.slice(0, -1).every((envelope) => envelope.replay === true)).toBe(true);
    expect(await command(fresh, 'ping')).toEqual({ ok: true, timestamp: expect.any(Number) });
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);

    // Nothing a fuzzer did outlives it: the server holds exactly the connections and
    // subscriptions of the clients still open (the bystanders and the fresh one).
    await Promise.all([...raws].map((raw) => within(raw.closed, ANSWER_TIMEOUT_MS)));
    const expected = { connections: bystanders.length + 1, subscriptions: bystanders.length + 1 };
    let held = await serverHolds();
    for (let wait = 0; wait < 50 && JSON.stringify(held) !== JSON.stringify(expected); wait++) {
      await sleep(100);
      held = await serverHolds();
    }
    expect(held).toEqual(expected);
    expect(processErrors).toEqual([]);
    expect(serverErrors.errors).toEqual([]);
  }, 60_000);
});
