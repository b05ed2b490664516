import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Socket } from 'socket.io-client';
import { RealtimeEvent } from '#realtime/internal';
import { OrderBook } from '../libs/realtime/src/market/order-book.js';
import { echoOf } from './support/answer-echo.js';
import {
  ANY_POSITION,
  GatewayHarness,
  command,
  roundTrip,
  sleep,
  until,
} from './support/gateway-harness.js';
import { RandomBookStream } from './support/random-book-stream.js';
import { ReferenceBook, seeded, type Level } from './support/reference-book.js';
import {
  ReferenceBookHistory,
  bookChecksum,
  firstDifference,
  topOf,
  type BookLevels,
  type UpstreamBookEvent,
} from './support/reference-book-history.js';

/**
 * Feed rates and partial books (issue 17) over real sockets, against the wire contract in
 * docs/PROTOCOL.md ("Feed rates and partial books", "Keeping a local order book"). The order
 * books come from a seeded generator; FEED_RATES_SEED=<seed> replays the same upstream stream
 * (the timing of windows is the machine's, so what each window holds may differ).
 */
const SEED = Number(process.env.FEED_RATES_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REPLAY_HINT = `seed ${SEED}: FEED_RATES_SEED=${SEED} replays the stream`;

type Rate = 'realtime' | '100ms' | '250ms' | '1000ms';
type Depth = 10 | 50 | undefined;
interface Feed {
  readonly rate: Rate;
  readonly depth: Depth;
}
const RATES: readonly Rate[] = ['realtime', '100ms', '250ms', '1000ms'];
const DEPTHS: readonly Depth[] = [undefined, 10, 50];
const WINDOW_MS: Readonly<Record<Rate, number>> = {
  realtime: 0,
  '100ms': 100,
  '250ms': 250,
  '1000ms': 1000,
};

const feedName = ({ rate, depth }: Feed) => `${rate}/${depth ?? 'full'}`;
/** Every feed but the room's own (realtime, whole book) skips offsets. */
const isConflated = ({ rate, depth }: Feed) => rate !== 'realtime' || depth !== undefined;

interface Envelope {
  channel: string;
  event: string;
  symbol: string;
  offset: number;
  epoch: string;
  ts: number;
  replay?: true;
  data: any;
}

/** The success answer the contract gives a book subscription of `feed`. */
function bookAnswer(symbol: string, feed: Feed, more: object = {}) {
  return {
    ok: true,
    channel: 'orderbook',
    symbol,
    ...(feed.rate !== 'realtime' ? { rate: feed.rate } : {}),
    ...(feed.depth !== undefined ? { depth: feed.depth } : {}),
    position: ANY_POSITION,
    ...(isConflated(feed) ? { conflated: true } : {}),
    ...more,
  };
}

/**
 * One subscription's local book, kept as a client following the contract keeps it, with the
 * shared OrderBook class and no trimming; every message is checked against the reference
 * book at the message's `lastUpdateId`. Problems are collected, not thrown, so that one run
 * reports all of them with their context.
 */
class CheckedBook {
  readonly book = new OrderBook();
  /** The same book keyed by the price strings received, which docs/PROTOCOL.md says gives the same book. */
  private readonly byString = new ReferenceBook();
  readonly live: Envelope[] = [];
  /** When each live message arrived. */
  readonly liveAt: number[] = [];
  readonly replays: Envelope[] = [];
  readonly problems: string[] = [];
  /** Offset jumps on the plain feed (realtime, whole book), kept apart: docs' step 5. */
  readonly offsetGaps: string[] = [];
  /** Where the book keyed by price strings (not values) went wrong, kept apart too. */
  readonly stringKeyedProblems: string[] = [];
  /** Set by a (re)subscribe answer: the next book message must be the replay snapshot. */
  private replayDue = true;
  /** Set by an answer that must not be followed by a replay (the same feed again). */
  private replayForbidden = false;
  private state: 'no-snapshot' | 'fresh' | 'steady' = 'no-snapshot';
  private lastOffset = -1;
  private epoch: string | undefined;
  /** Update ids of updates ignored as already contained (the overlap rule). */
  readonly ignored: number[] = [];
  /** First updates after a snapshot that started before it (joined mid-window), applied. */
  overlaps = 0;

  constructor(
    readonly label: string,
    readonly symbol: string,
    private readonly history: ReferenceBookHistory,
    public feed: Feed,
  ) {}

  get depth(): number {
    return this.feed.depth ?? Infinity;
  }

  /** A subscribe answer for this book arrived (in order with the messages around it). */
  answered(feed: Feed, replayFollows: boolean): void {
    this.feed = feed;
    this.replayDue = replayFollows;
    this.replayForbidden = !replayFollows;
  }

  receive(name: string, envelope: Envelope): void {
    const data = envelope.data;
    const where = `${name} #${this.live.length + this.replays.length} (ids ${data?.firstUpdateId ?? '-'}..${data?.lastUpdateId}, offset ${envelope.offset})`;
    if (
      envelope.channel !== 'orderbook' ||
      envelope.event !== name ||
      envelope.symbol !== this.symbol
    )
      this.problem(`${where}: envelope ${JSON.stringify({ ...envelope, data: undefined })}`);
    if (this.replayDue) {
      if (name !== 'orderbook.snapshot' || envelope.replay !== true)
        this.problem(
          `${where}: the answer must be followed by the replay snapshot, got replay=${envelope.replay}`,
        );
      this.replayDue = false;
    } else if (envelope.replay === true) {
      if (this.replayForbidden)
        this.problem(`${where}: a replay after subscribing to the same feed again`);
      else this.problem(`${where}: a replay nobody asked for`);
    }
    this.replayForbidden = false;
    this.checkOffset(where, envelope);
    if (envelope.replay) this.replays.push(envelope);
    else {
      this.live.push(envelope);
      this.liveAt.push(Date.now());
    }

    if (name === 'orderbook.snapshot') {
      this.book.reset(data.lastUpdateId, data.bids, data.asks);
      this.byString.bids.clear();
      this.byString.asks.clear();
      this.byString.apply('bids', data.bids);
      this.byString.apply('asks', data.asks);
      this.state = 'fresh';
    } else {
      if (this.state === 'no-snapshot')
        return this.problem(`${where}: an update before any snapshot`);
      if (data.lastUpdateId <= this.book.lastUpdateId) {
        // Already contained in the snapshot: allowed only as the first update after one.
        if (this.state !== 'fresh')
          this.problem(`${where}: a stale update mid-stream (book at ${this.book.lastUpdateId})`);
        this.ignored.push(data.lastUpdateId);
        return;
      }
      if (data.firstUpdateId > this.book.lastUpdateId + 1) {
        this.state = 'no-snapshot';
        return this.problem(`${where}: a hole after ${this.book.lastUpdateId}`);
      }
      if (this.state === 'fresh' && data.firstUpdateId <= this.book.lastUpdateId) this.overlaps++;
      if (this.state === 'steady' && data.firstUpdateId !== this.book.lastUpdateId + 1)
        this.problem(
          `${where}: overlaps the previous update (book at ${this.book.lastUpdateId}), only the first after a snapshot may`,
        );
      this.book.apply(data.lastUpdateId, data.bids, data.asks);
      this.byString.apply('bids', data.bids);
      this.byString.apply('asks', data.asks);
      this.state = 'steady';
    }
    this.checkBook(where, data);
  }

  private checkOffset(where: string, envelope: Envelope): void {
    if (typeof envelope.offset !== 'number' || typeof envelope.epoch !== 'string')
      return this.problem(`${where}: no offset/epoch`);
    if (this.epoch !== undefined && envelope.epoch !== this.epoch)
      this.problem(`${where}: epoch changed`);
    this.epoch = envelope.epoch;
    if (envelope.replay) {
      if (envelope.offset < this.lastOffset)
        this.problem(`${where}: replay offset went back from ${this.lastOffset}`);
    } else if (
      !isConflated(this.feed) &&
      this.lastOffset >= 0 &&
      envelope.offset !== this.lastOffset + 1
    ) {
      this.problem(
        `${where}: offset ${envelope.offset} after ${this.lastOffset} on a feed that is not conflated`,
        this.offsetGaps,
      );
    } else if (envelope.offset <= this.lastOffset && this.live.length > 0) {
      this.problem(
        `${where}: offset ${envelope.offset} does not increase (after ${this.lastOffset})`,
      );
    } else if (envelope.offset < this.lastOffset) {
      this.problem(`${where}: offset ${envelope.offset} before the replay's ${this.lastOffset}`);
    }
    this.lastOffset = envelope.offset;
  }

  private checkBook(where: string, data: any): void {
    const expected = this.history.at(data.lastUpdateId);
    if (!expected) return this.problem(`${where}: no upstream event ended at ${data.lastUpdateId}`);
    const mine: BookLevels = { bids: this.book.bidLevels(), asks: this.book.askLevels() };
    if (mine.bids.length > this.depth || mine.asks.length > this.depth)
      this.problem(
        `${where}: holds ${mine.bids.length}/${mine.asks.length} levels with depth ${this.depth}`,
      );
    const difference = firstDifference(mine, topOf(expected, this.depth));
    if (difference)
      this.problem(
        `${where}: book differs from the reference at ${data.lastUpdateId}: ${difference}`,
      );
    const keyedByString = {
      bids: this.byString.sorted('bids'),
      asks: this.byString.sorted('asks'),
    };
    const stringDifference = firstDifference(keyedByString, topOf(expected, this.depth));
    if (stringDifference)
      this.problem(
        `${where}: the book keyed by price strings differs from the reference at ${data.lastUpdateId}: ${stringDifference}`,
        this.stringKeyedProblems,
      );
    const levels = Math.min(this.depth, 25);
    const computed = bookChecksum(mine, levels);
    if (data.checksum !== computed)
      this.problem(
        `${where}: checksum ${data.checksum}, the book's (top ${levels}) is ${computed}`,
      );
  }

  private problem(text: string, list = this.problems): void {
    if (list.length < 8) list.push(`${this.label} ${this.symbol} ${feedName(this.feed)}: ${text}`);
  }
}

/**
 * One connection speaking the raw protocol, with a CheckedBook per subscribed symbol. A
 * subscribe answer is handled in the ack callback, which socket.io-client calls in order with
 * the packets around it, so that a switch's answer is placed exactly in the message stream.
 */
class BookSubscriber {
  readonly books = new Map<string, CheckedBook>();
  readonly stray: string[] = [];
  answeredAt = 0;
  /** How many replays the book had got when the last answer arrived. */
  replaysAtAnswer = 0;

  constructor(
    readonly label: string,
    readonly socket: Socket,
    private readonly histories: ReadonlyMap<string, ReferenceBookHistory>,
  ) {
    socket.onAny((name: string, envelope: Envelope) => {
      if (name === 'orderbook.snapshot' || name === 'orderbook.update') {
        const book = this.books.get(envelope?.symbol);
        if (book) book.receive(name, envelope);
        else this.stray.push(`${label}: ${name} of ${envelope?.symbol}, not subscribed`);
      } else if (name !== 'connected') {
        this.stray.push(`${label}: unexpected ${name} ${JSON.stringify(envelope).slice(0, 200)}`);
      }
    });
  }

  /**
   * Subscribes `symbol` at `feed`; a new subscription or a switch expects the replay snapshot
   * right after its answer, the same feed again expects none.
   */
  subscribe(symbol: string, feed: Feed, more: object = {}, explicitRealtime = false): Promise<any> {
    const existing = this.books.get(symbol);
    const same = existing && existing.feed.rate === feed.rate && existing.feed.depth === feed.depth;
    const book = existing ?? new CheckedBook(this.label, symbol, this.histories.get(symbol)!, feed);
    this.books.set(symbol, book);
    const payload = {
      channel: 'orderbook',
      symbol,
      ...(feed.rate !== 'realtime' || explicitRealtime ? { rate: feed.rate } : {}),
      ...(feed.depth !== undefined ? { depth: feed.depth } : {}),
      ...more,
    };
    return new Promise((resolve) => {
      this.socket.emit('subscribe', payload, (answer: any) => {
        if (answer?.ok) book.answered(feed, !same);
        this.answeredAt = Date.now();
        this.replaysAtAnswer = book.replays.length;
        resolve(answer);
      });
    });
  }

  /** The last stream position this connection saw for `symbol`: its last envelope's. */
  lastPosition(symbol: string): { offset: number; epoch: string } {
    const book = this.books.get(symbol)!;
    const last = book.live.at(-1) ?? book.replays.at(-1)!;
    return { offset: last.offset, epoch: last.epoch };
  }
}

describe(`feed rates and partial books over real sockets (${REPLAY_HINT})`, () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  describe('random books at every rate and depth', () => {
    const SYMBOLS = ['RATEBOOKA', 'RATEBOOKB'];
    const BURSTS = 140;
    const BURST_GAP_MS = 40;
    const histories = new Map(SYMBOLS.map((symbol) => [symbol, new ReferenceBookHistory()]));
    /** The feeds of the matrix with more than one subscriber from the start. */
    const PEERED = new Map<string, number>([
      ['realtime/full', 3],
      ['250ms/10', 2],
      ['1000ms/50', 3],
      ['100ms/full', 2],
    ]);
    const LATE: Array<{ feed: Feed; atBurst: number }> = [
      { feed: { rate: '100ms', depth: 10 }, atBurst: 30 },
      { feed: { rate: '1000ms', depth: undefined }, atBurst: 33 },
      { feed: { rate: 'realtime', depth: 50 }, atBurst: 80 },
      { feed: { rate: '250ms', depth: undefined }, atBurst: 83 },
      { feed: { rate: 'realtime', depth: undefined }, atBurst: 90 },
      // More mid-window joins of whole-book feeds: the join whose snapshot holds a level in a
      // spelling the window then changed back is the hard case of merged updates.
      { feed: { rate: '100ms', depth: undefined }, atBurst: 57 },
      { feed: { rate: '1000ms', depth: undefined }, atBurst: 97 },
      { feed: { rate: '250ms', depth: undefined }, atBurst: 113 },
    ];
    const SWITCHES: Array<{ atBurst: number; feed: Feed }> = [
      { atBurst: 0, feed: { rate: '250ms', depth: 10 } },
      { atBurst: 35, feed: { rate: '1000ms', depth: 10 } },
      { atBurst: 62, feed: { rate: '1000ms', depth: 10 } },
      { atBurst: 85, feed: { rate: 'realtime', depth: 10 } },
      { atBurst: 110, feed: { rate: 'realtime', depth: undefined } },
    ];
    const RECOVERY = {
      symbol: 'RATEBOOKB',
      feed: { rate: '1000ms', depth: 10 } as Feed,
      leaveAt: 45,
      backAt: 78,
    };

    const matrix: Array<{
      subscriber: BookSubscriber;
      feed: Feed;
      answers: any[];
      joinedAt: number;
    }> = [];
    const late: Array<{
      subscriber: BookSubscriber;
      feed: Feed;
      answers: any[];
      joinedAt: number;
    }> = [];
    const switches: Array<{ feed: Feed; answer: any; at: number; replayIndex: number }> = [];
    let switcher: BookSubscriber;
    let leaver: BookSubscriber;
    let returner: BookSubscriber | undefined;
    let returnAnswer: any;
    let leftWith: { offset: number; epoch: string };
    let publishEndedAt = 0;
    let runStartedAt = 0;
    const updatesSent = new Map(SYMBOLS.map((symbol) => [symbol, 0]));
    let streams: Map<string, RandomBookStream>;

    const emit = (symbol: string, event: UpstreamBookEvent) => {
      if (event.kind === 'snapshot') {
        const { lastUpdateId, bids, asks } = event;
        gateway.emitter.emit(RealtimeEvent.OrderBookSnapshot, { symbol, lastUpdateId, bids, asks });
      } else {
        const { firstUpdateId, lastUpdateId, bids, asks } = event;
        updatesSent.set(symbol, updatesSent.get(symbol)! + 1);
        gateway.emitter.emit(RealtimeEvent.OrderBookUpdate, {
          symbol,
          firstUpdateId,
          lastUpdateId,
          bids,
          asks,
        });
      }
    };

    async function subscriber(label: string): Promise<BookSubscriber> {
      return new BookSubscriber(label, await gateway.connect(), histories);
    }

    async function subscribeBoth(
      subscriber: BookSubscriber,
      feed: Feed,
      explicitRealtime: boolean,
    ) {
      const answers = [];
      for (const symbol of SYMBOLS)
        answers.push(await subscriber.subscribe(symbol, feed, {}, explicitRealtime));
      return { subscriber, feed, answers, joinedAt: subscriber.answeredAt };
    }

    beforeAll(async () => {
      const random = seeded(SEED);
      streams = new Map(
        SYMBOLS.map((symbol, i) => [
          symbol,
          new RandomBookStream(random, histories.get(symbol)!, 1000 + i * 500_000),
        ]),
      );
      for (const [symbol, stream] of streams) emit(symbol, stream.snapshot());

      for (const rate of RATES) {
        for (const depth of DEPTHS) {
          const feed = { rate, depth };
          const count = PEERED.get(feedName(feed)) ?? 1;
          for (let n = 0; n < count; n++)
            matrix.push(
              await subscribeBoth(await subscriber(`matrix-${feedName(feed)}#${n}`), feed, n === 1),
            );
        }
      }
      switcher = await subscriber('switcher');
      leaver = await subscriber('recovering');
      await leaver.subscribe(RECOVERY.symbol, RECOVERY.feed);

      const pending: Array<Promise<unknown>> = [];
      runStartedAt = Date.now();
      for (let burst = 0; burst < BURSTS; burst++) {
        for (const { feed, atBurst } of LATE) {
          if (atBurst !== burst) continue;
          pending.push(
            subscriber(`late-${feedName(feed)}`)
              .then((each) => subscribeBoth(each, feed, false))
              .then((joined) => late.push(joined)),
          );
        }
        for (const { feed, atBurst } of SWITCHES) {
          if (atBurst !== burst) continue;
          pending.push(
            switcher.subscribe(SYMBOLS[0]!, feed).then((answer) => {
              switches.push({
                feed,
                answer,
                at: switcher.answeredAt,
                replayIndex: switcher.replaysAtAnswer,
              });
            }),
          );
        }
        if (burst === RECOVERY.leaveAt) {
          leftWith = leaver.lastPosition(RECOVERY.symbol);
          leaver.socket.disconnect();
        }
        if (burst === RECOVERY.backAt) {
          pending.push(
            subscriber('recovered').then(async (each) => {
              returner = each;
              returnAnswer = await each.subscribe(RECOVERY.symbol, RECOVERY.feed, {
                since: leftWith,
              });
            }),
          );
        }
        for (const [symbol, stream] of streams) {
          const count = 4 + Math.floor(random() * 7);
          for (let n = 0; n < count; n++) {
            emit(symbol, stream.update());
            if (burst === 75 && n === 2) emit(symbol, stream.respellingSnapshot());
          }
        }
        await sleep(BURST_GAP_MS);
      }
      for (const [symbol, stream] of streams) emit(symbol, stream.topChangingUpdate());
      publishEndedAt = Date.now();
      await Promise.all(pending);

      const everyBook = () =>
        [...matrix, ...late].flatMap(({ subscriber }) => [...subscriber.books.values()]);
      await until(
        () =>
          everyBook().every(
            (book) => book.book.lastUpdateId === histories.get(book.symbol)!.lastUpdateId,
          ) &&
          [...switcher.books.values(), ...(returner?.books.values() ?? [])].every(
            (book) => book.book.lastUpdateId === histories.get(book.symbol)!.lastUpdateId,
          ),
        5000,
        `every client at the final update id (${REPLAY_HINT})`,
      ).catch(() => undefined);
      // A window more, so that a feed that wrongly sends after the end is caught.
      await sleep(1100);
      for (const each of [...matrix, ...late, { subscriber: switcher }])
        await roundTrip(each.subscriber.socket);
    }, 45_000);

    const problemsOf = (subscribers: BookSubscriber[]) =>
      subscribers.flatMap((each) => [
        ...each.stray,
        ...[...each.books.values()].flatMap((book) => book.problems),
      ]);

    it('gives every subscription its answer, then books that equal the reference at every message, to the final id', () => {
      expect(runStartedAt).toBeGreaterThan(0);
      for (const { feed, answers } of [...matrix, ...late])
        expect(answers).toEqual(SYMBOLS.map((symbol) => bookAnswer(symbol, feed)));
      expect(problemsOf([...matrix, ...late].map(({ subscriber }) => subscriber))).toEqual([]);
      const finalIds = [...matrix, ...late].flatMap(({ subscriber }) =>
        [...subscriber.books.values()].map(
          (book) => `${book.label} ${book.symbol} at ${book.book.lastUpdateId}`,
        ),
      );
      expect(finalIds).toEqual(
        [...matrix, ...late].flatMap(({ subscriber }) =>
          SYMBOLS.map(
            (symbol) => `${subscriber.label} ${symbol} at ${histories.get(symbol)!.lastUpdateId}`,
          ),
        ),
      );
      // Joining a windowed whole-book feed mid-window, the first update overlapped the snapshot.
      const overlapping = late
        .filter(({ feed }) => feed.rate !== 'realtime' && feed.depth === undefined)
        .flatMap(({ subscriber }) => [...subscriber.books.values()].map((book) => book.overlaps));
      expect(overlapping.reduce((sum, each) => sum + each, 0)).toBeGreaterThan(0);
      // The stream did exercise the rules: overlapping ids, stale repeats, other spellings, removals.
      for (const history of histories.values())
        expect(history.accepted.length).toBeGreaterThan(900);
      for (const stream of streams.values())
        for (const [what, times] of Object.entries(stream.made))
          expect([what, times > 5]).toEqual([what, true]);
    });

    it('keeps the offsets of the plain book feed (realtime, whole book) contiguous, also when the exchange repeats an update', () => {
      // An exchange's repeated update is stale and not forwarded; a jump here makes a client
      // following "Keeping a local order book" (step 5) start over for nothing.
      const subscribers = [...matrix, ...late].map(({ subscriber }) => subscriber);
      expect(
        [...subscribers, switcher].flatMap((each) =>
          [...each.books.values()].flatMap((book) => book.offsetGaps),
        ),
      ).toEqual([]);
    });

    it('brings books keyed by the price strings to the same book too (docs: either keying gives the same book)', () => {
      const subscribers = [...matrix, ...late].map(({ subscriber }) => subscriber);
      expect(
        [...subscribers, switcher, leaver, ...(returner ? [returner] : [])].flatMap((each) =>
          [...each.books.values()].flatMap((book) => book.stringKeyedProblems),
        ),
      ).toEqual([]);
    });

    it('sends the same messages to every subscriber of a feed, a late one getting the same suffix', () => {
      for (const symbol of SYMBOLS) {
        const byFeed = new Map<string, Envelope[][]>();
        for (const { subscriber, feed } of matrix)
          byFeed.set(feedName(feed), [
            ...(byFeed.get(feedName(feed)) ?? []),
            subscriber.books.get(symbol)!.live,
          ]);
        for (const [name, sequences] of byFeed) {
          for (const sequence of sequences.slice(1))
            expect({ feed: name, symbol, live: sequence }).toEqual({
              feed: name,
              symbol,
              live: sequences[0],
            });
        }
        for (const { subscriber, feed } of late) {
          const mine = subscriber.books.get(symbol)!.live;
          const early = byFeed.get(feedName(feed))![0]!;
          const start = early.findIndex((envelope) => envelope.offset === mine[0]?.offset);
          expect({ feed: feedName(feed), symbol, start: start >= 0, live: mine }).toEqual({
            feed: feedName(feed),
            symbol,
            start: true,
            live: early.slice(start),
          });
        }
      }
    });

    it('sends a windowed feed about once per window, and realtime once per update that changed its view', () => {
      const counts: string[] = [];
      const expected: string[] = [];
      for (const { subscriber, feed, joinedAt } of [...matrix, ...late]) {
        for (const symbol of SYMBOLS) {
          const book = subscriber.books.get(symbol)!;
          const received = book.live.length;
          const label = `${subscriber.label} ${symbol}: ${received}`;
          counts.push(label);
          if (feed.rate === 'realtime') {
            const joinedAtId = book.replays[0]!.data.lastUpdateId;
            const history = histories.get(symbol)!;
            expected.push(
              `${subscriber.label} ${symbol}: ${history.realtimeMessagesAfter(joinedAtId, book.depth)}`,
            );
          } else {
            const windows =
              (publishEndedAt - Math.max(joinedAt, runStartedAt)) / WINDOW_MS[feed.rate];
            // Loose: each window end sends at most one message, and the book changes in nearly all.
            const fits =
              received <= Math.ceil(windows) + 2 && received >= Math.floor(windows * 0.5) - 1;
            expected.push(fits ? label : `${label} (expected about ${windows.toFixed(1)} windows)`);
          }
        }
      }
      expect(counts).toEqual(expected);
      // Fewer than one per update: conflation happened (a 100 ms window sees several updates).
      for (const { subscriber, feed } of matrix.filter(({ feed }) => feed.rate !== 'realtime'))
        for (const symbol of SYMBOLS)
          expect(subscriber.books.get(symbol)!.live.length).toBeLessThan(
            updatesSent.get(symbol)! / 2 / (feed.rate === '100ms' ? 1 : 2),
          );
    });

    it('switches a subscriber between rates and depths: the answer, a replay snapshot, then consistent updates', () => {
      const symbol = SYMBOLS[0]!;
      // The same feed again is answered as subscribing twice always was: no position, nothing follows.
      const again = (index: number) =>
        index > 0 && feedName(SWITCHES[index]!.feed) === feedName(SWITCHES[index - 1]!.feed);
      expect(
        switches.map(({ answer }, index) =>
          again(index) ? { ...answer, conflated: undefined } : answer,
        ),
      ).toEqual(
        SWITCHES.map(({ feed }, index) => {
          if (!again(index)) return bookAnswer(symbol, feed);
          return { ok: true, channel: 'orderbook', symbol, rate: feed.rate, depth: feed.depth };
        }),
      );
      const book = switcher.books.get(symbol)!;
      expect(problemsOf([switcher])).toEqual([]);
      // One replay per new feed; the same feed again (1000ms/10 twice) replays nothing.
      expect(book.replays.length).toBe(SWITCHES.length - 1);
      expect(switches.map(({ replayIndex }) => replayIndex)).toEqual([0, 1, 2, 2, 3]);
      expect(book.book.lastUpdateId).toBe(histories.get(symbol)!.lastUpdateId);
      expect({ bids: book.book.bidLevels(), asks: book.book.askLevels() }).toEqual(
        histories.get(symbol)!.current,
      );
      // The 1000 ms phase (two answers) came at its rate, not at 250 ms.
      const thousand = book.liveAt.filter((at) => at >= switches[1]!.at && at < switches[3]!.at);
      const seconds = (switches[3]!.at - switches[1]!.at) / 1000;
      expect(thousand.length).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    });

    it('recovers a depth-10 1000ms subscriber by a depth-10 snapshot (history_off), then consistent updates', () => {
      expect(leftWith).toEqual(ANY_POSITION);
      expect(returnAnswer).toEqual(
        bookAnswer(RECOVERY.symbol, RECOVERY.feed, { recovered: false, reason: 'history_off' }),
      );
      const book = returner!.books.get(RECOVERY.symbol)!;
      expect(problemsOf([leaver, returner!])).toEqual([]);
      expect(book.replays).toHaveLength(1);
      const snapshot = book.replays[0]!;
      expect(snapshot.event).toBe('orderbook.snapshot');
      expect(snapshot.data.bids.length).toBeLessThanOrEqual(10);
      expect(snapshot.data.asks.length).toBeLessThanOrEqual(10);
      expect(snapshot.data.lastUpdateId).toBeGreaterThan(
        leaver.books.get(RECOVERY.symbol)!.book.lastUpdateId,
      );
      expect(book.live.length).toBeGreaterThan(0);
      expect(book.book.lastUpdateId).toBe(histories.get(RECOVERY.symbol)!.lastUpdateId);
    });
  });

  describe.each(['250ms', '1000ms'] as const)(
    'a whole-book feed at %s, joined mid-window',
    (rate) => {
      const symbol = `JOIN${rate.toUpperCase()}`;
      const feed: Feed = { rate, depth: undefined };
      const history = new ReferenceBookHistory();
      let early: BookSubscriber;
      let late: BookSubscriber;
      let lastUpdateId = 10;

      beforeAll(async () => {
        const histories = new Map([[symbol, history]]);
        const update = (bids: Level[], asks: Level[] = []) => {
          const event: UpstreamBookEvent = {
            kind: 'update',
            firstUpdateId: lastUpdateId + 1,
            lastUpdateId: ++lastUpdateId,
            bids,
            asks,
          };
          history.record(event);
          gateway.emitter.emit(RealtimeEvent.OrderBookUpdate, {
            symbol,
            ...event,
            kind: undefined,
          });
        };
        const opening: UpstreamBookEvent = {
          kind: 'snapshot',
          lastUpdateId,
          bids: [
            ['10', '1'],
            ['9', '1'],
            ['8', '1'],
          ],
          asks: [
            ['11', '1'],
            ['12', '1'],
          ],
        };
        history.record(opening);
        gateway.emitter.emit(RealtimeEvent.OrderBookSnapshot, {
          symbol,
          ...opening,
          kind: undefined,
        });
        early = new BookSubscriber('early', await gateway.connect(), histories);
        late = new BookSubscriber('joined mid-window', await gateway.connect(), histories);
        expect(await early.subscribe(symbol, feed)).toEqual(bookAnswer(symbol, feed));

        // A window ends right after the early subscriber got this: the next one begins.
        update([['8', '2']]);
        await until(
          () => early.books.get(symbol)!.book.lastUpdateId === lastUpdateId,
          3000,
          'a window end',
        );
        update([['10', '0']]);
        update([['10.0', '1']]);
        update([], [['11', '2']]);
        update([['9.5', '1']]);
        update([['8', '0']]);
        update([['8.0', '2']]);
        update([['7', '1']]);
        update([['7', '0']]);
        update([['7.0', '1']]);
        expect(await late.subscribe(symbol, feed)).toEqual(bookAnswer(symbol, feed));
        update([['10.0', '0']]);
        update([['10', '1']]);
        update([], [['11', '1']]);
        update([['9.5', '0']]);
        // Spelled a third way and back: the joiner holds the middle spelling.
        update([['8.0', '0']]);
        update([['8.00', '2']]);
        update([['8.00', '0']]);
        update([['8', '2']]);
        // Came, was spelled anew, and went: the joiner holds the new spelling.
        update([['7.00', '0']]);
        await until(
          () =>
            [early, late].every(
              (each) => each.books.get(symbol)!.book.lastUpdateId === lastUpdateId,
            ),
          3000,
          'both subscribers at the last update',
        ).catch(() => undefined);
      });

      it('brings the joiner to the book at the window end: levels re-spelled and back, a quantity changed and back, levels that came and went', () => {
        const lateBook = late.books.get(symbol)!;
        // The join fell in the window: the snapshot held its middle, the update overlapped it.
        expect(lateBook.replays.map((envelope) => envelope.data.lastUpdateId)).toEqual([20]);
        expect(lateBook.overlaps).toBe(1);
        expect([
          ...early.stray,
          ...late.stray,
          ...early.books.get(symbol)!.problems,
          ...lateBook.problems,
        ]).toEqual([]);
        for (const each of [early, late]) {
          const { book } = each.books.get(symbol)!;
          expect({ bids: book.bidLevels(), asks: book.askLevels(), at: book.lastUpdateId }).toEqual(
            {
              ...history.current,
              at: lastUpdateId,
            },
          );
        }
      });

      it('brings a joiner that keys levels by the price strings to the same book (docs: either keying gives the same book)', () => {
        expect(
          [early, late].flatMap((each) => each.books.get(symbol)!.stringKeyedProblems),
        ).toEqual([]);
      });
    },
  );

  describe('conflatable channels and trades at a rate', () => {
    /** A raw connection that records every event with the time it arrived. */
    async function recorded() {
      const socket = await gateway.connect();
      const events: Array<{ name: string; payload: any; at: number }> = [];
      socket.onAny((name: string, payload: unknown) =>
        events.push({ name, payload, at: Date.now() }),
      );
      return { socket, events, of: (name: string) => events.filter((each) => each.name === name) };
    }

    it('sends the latest ticker at each 1000 ms window end, never an older one, and nothing in a quiet window', async () => {
      const symbol = 'RATETICK';
      const rated = await recorded();
      const plain = await recorded();
      expect(
        await command(rated.socket, 'subscribe', { channel: 'ticker', symbol, rate: '1000ms' }),
      ).toEqual({
        ok: true,
        channel: 'ticker',
        symbol,
        rate: '1000ms',
        position: ANY_POSITION,
        conflated: true,
      });
      await command(plain.socket, 'subscribe', { channel: 'ticker', symbol });
      const random = seeded(SEED + 1);
      const publishedAt: number[] = [];
      const started = Date.now();
      while (Date.now() - started < 4200) {
        const count = 1 + Math.floor(random() * 4);
        for (let n = 0; n < count; n++) {
          publishedAt.push(Date.now());
          gateway.emitter.emit(RealtimeEvent.TickerUpdate, {
            symbol,
            lastPrice: `${publishedAt.length}`,
          });
        }
        await sleep(60 + Math.floor(random() * 60));
      }
      const seconds = (Date.now() - started) / 1000;
      await sleep(1200);
      const settled = rated.of('ticker.update').length;
      await sleep(1100);
      await roundTrip(rated.socket);

      const received = rated.of('ticker.update');
      expect(received.length).toBe(settled);
      expect(received.length).toBeGreaterThanOrEqual(Math.floor(seconds) - 1);
      expect(received.length).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
      const originals = new Map(
        plain.of('ticker.update').map(({ payload }) => [payload.offset, payload]),
      );
      expect(originals.size).toBe(publishedAt.length);
      let previous = 0;
      for (const { payload, at } of received) {
        const index = Number(payload.data.lastPrice);
        // Every ticker published well before this one arrived must be in it (it is the latest).
        const newestBefore = publishedAt.filter((published) => published < at - 50).length;
        expect({ index, offsetIncreases: payload.offset > previous }).toEqual({
          index: Math.max(index, newestBefore),
          offsetIncreases: true,
        });
        expect(payload).toEqual(originals.get(payload.offset));
        previous = payload.offset;
      }
      expect(received.at(-1)!.payload.data.lastPrice).toBe(`${publishedAt.length}`);
      expect(
        rated.events.filter(({ name }) => name !== 'ticker.update' && name !== 'connected'),
      ).toEqual([]);
    });

    it("sends klines at 250 ms without losing a candle's final update when the next candle starts in the window", async () => {
      const symbol = 'RATEKLINE';
      const rated = await recorded();
      const plain = await recorded();
      expect(
        await command(rated.socket, 'subscribe', {
          channel: 'klines',
          symbol,
          interval: '1m',
          rate: '250ms',
        }),
      ).toEqual({
        ok: true,
        channel: 'klines',
        symbol,
        interval: '1m',
        rate: '250ms',
        position: ANY_POSITION,
        conflated: true,
      });
      await command(plain.socket, 'subscribe', { channel: 'klines', symbol, interval: '1m' });
      const random = seeded(SEED + 2);
      const published: Array<{ data: any; at: number }> = [];
      let candle = 0;
      let sequence = 0;
      const kline = (closed: boolean) => {
        const data = {
          symbol,
          interval: '1m',
          openTime: 1_700_000_000_000 + candle * 60_000,
          open: '100',
          high: '101',
          low: '99',
          close: (100 + ++sequence / 1000).toFixed(3),
          volume: `${sequence}`,
          closed,
        };
        published.push({ data, at: Date.now() });
        gateway.emitter.emit(RealtimeEvent.KlineUpdate, data);
      };
      for (let burst = 0; burst < 30; burst++) {
        for (let n = Math.floor(random() * 3); n > 0; n--) kline(false);
        if (random() < 0.4 || burst % 5 === 2) {
          // The candle closes and the next one starts in the same burst, so in one window.
          kline(true);
          candle++;
          kline(false);
        }
        await sleep(40 + Math.floor(random() * 40));
      }
      kline(true);
      await sleep(600);
      await roundTrip(rated.socket);

      const received = rated.of('kline.update').map(({ payload, at }) => ({ payload, at }));
      const originals = new Map(
        plain.of('kline.update').map(({ payload }) => [payload.offset, payload]),
      );
      expect(originals.size).toBe(published.length);
      expect(candle).toBeGreaterThanOrEqual(5);
      expect(received.length).toBeLessThan(published.length);
      // The last message of each candle is its last update: every final one (closed) arrived.
      const lastOf = (items: any[]) => {
        const last = new Map<number, any>();
        for (const data of items) last.set(data.openTime, data);
        return [...last.values()];
      };
      expect(lastOf(received.map(({ payload }) => payload.data))).toEqual(
        lastOf(published.map(({ data }) => data)),
      );
      expect(
        lastOf(received.map(({ payload }) => payload.data)).filter((data) => !data.closed),
      ).toEqual([]);
      let previous = { offset: 0, openTime: 0 };
      for (const { payload, at } of received) {
        expect(payload).toEqual(originals.get(payload.offset));
        expect(payload.offset).toBeGreaterThan(previous.offset);
        expect(payload.data.openTime).toBeGreaterThanOrEqual(previous.openTime);
        // No newer update of its candle had been published well before it arrived.
        const newer = published.filter(
          ({ data, at: sent }) =>
            data.openTime === payload.data.openTime &&
            sent < at - 50 &&
            Number(data.volume) > Number(payload.data.volume),
        );
        expect({ offset: payload.offset, stale: newer.length > 0 }).toEqual({
          offset: payload.offset,
          stale: false,
        });
        previous = { offset: payload.offset, openTime: payload.data.openTime };
      }
    });

    it('sends trades at 250 ms in batch messages: every trade, in order, offsets contiguous', async () => {
      const symbol = 'RATETRADE';
      const rated = await recorded();
      const plain = await recorded();
      const answer = await command(rated.socket, 'subscribe', {
        channel: 'trades',
        symbol,
        rate: '250ms',
      });
      expect(answer).toEqual({
        ok: true,
        channel: 'trades',
        symbol,
        rate: '250ms',
        position: ANY_POSITION,
      });
      await command(plain.socket, 'subscribe', { channel: 'trades', symbol });
      const random = seeded(SEED + 3);
      let tradeId = 0;
      const started = Date.now();
      for (let burst = 0; burst < 14; burst++) {
        const count = burst === 6 ? 230 : 1 + Math.floor(random() * 40);
        for (let n = 0; n < count; n++)
          gateway.emitter.emit(RealtimeEvent.Trade, {
            symbol,
            tradeId: ++tradeId,
            price: '100.5',
            quantity: '1',
          });
        await sleep(50 + Math.floor(random() * 60));
      }
      const windows = (Date.now() - started) / 250;
      await sleep(600);
      await roundTrip(rated.socket);

      expect(rated.of('trade')).toEqual([]);
      const batches = rated.of('batch').map(({ payload }) => payload as Envelope[]);
      for (const batch of batches) {
        expect(Array.isArray(batch)).toBe(true);
        expect(batch.length).toBeGreaterThanOrEqual(1);
        expect(batch.length).toBeLessThanOrEqual(100);
      }
      const envelopes = batches.flat();
      expect(envelopes.map((envelope) => envelope.data.tradeId)).toEqual(
        Array.from({ length: tradeId }, (_, i) => i + 1),
      );
      expect(envelopes.map((envelope) => envelope.offset)).toEqual(
        Array.from({ length: tradeId }, (_, i) => answer.position.offset + 1 + i),
      );
      expect(envelopes).toEqual(plain.of('trade').map(({ payload }) => payload));
      // The 230-trade burst fell in one window: sent as batches of 100, 100 and the rest.
      expect(Math.max(...batches.map((batch) => batch.length))).toBe(100);
      expect(batches.length).toBeLessThanOrEqual(Math.ceil(windows) + 2 + Math.ceil(tradeId / 100));
      expect(batches.length).toBeLessThan(14);
    });
  });

  describe('bad rate and depth', () => {
    const rateMessage = (got: string) =>
      `rate must be one of realtime, 100ms, 250ms, 1000ms, got ${got}`;
    const depthMessage = (got: string) => `depth must be one of 10, 20, 50, 100, got ${got}`;
    const cases: Array<[string, object, string]> = [
      [
        'rate "5ms"',
        { channel: 'orderbook', symbol: 'BADRATE', rate: '5ms' },
        rateMessage('"5ms"'),
      ],
      [
        'rate 100 (a number)',
        { channel: 'ticker', symbol: 'BADRATE', rate: 100 },
        rateMessage('100'),
      ],
      ['depth 7', { channel: 'orderbook', symbol: 'BADRATE', depth: 7 }, depthMessage('7')],
      [
        'depth on trades',
        { channel: 'trades', symbol: 'BADRATE', depth: 10 },
        'depth applies only to orderbook',
      ],
      [
        'depth "10" (a string)',
        { channel: 'orderbook', symbol: 'BADRATE', depth: '10' },
        depthMessage('"10"'),
      ],
    ];

    it.each(cases)(
      'refuses %s with INVALID_PAYLOAD and keeps the connection working',
      async (_case, payload, message) => {
        const socket = await gateway.connect();
        expect(await command(socket, 'subscribe', payload)).toEqual(
          expect.objectContaining({
            ok: false,
            command: 'subscribe',
            ...echoOf(payload),
            error: { code: 'INVALID_PAYLOAD', message },
          }),
        );
        expect(
          await command(socket, 'subscribe', {
            channel: 'orderbook',
            symbol: 'BADRATE',
            rate: '250ms',
            depth: 10,
          }),
        ).toEqual(bookAnswer('BADRATE', { rate: '250ms', depth: 10 }));
      },
    );

    it('checks rate and depth on unsubscribe, then ends the subscription whatever they say', async () => {
      const symbol = 'UNSUBRATE';
      gateway.emitter.emit(RealtimeEvent.OrderBookSnapshot, {
        symbol,
        lastUpdateId: 1,
        bids: [['1', '1']],
        asks: [['2', '1']],
      });
      const socket = await gateway.connect();
      const books: Envelope[] = [];
      socket.on('orderbook.update', (envelope: Envelope) => books.push(envelope));
      await command(socket, 'subscribe', {
        channel: 'orderbook',
        symbol,
        rate: '100ms',
        depth: 10,
      });
      expect(
        await command(socket, 'unsubscribe', { channel: 'orderbook', symbol, rate: '5ms' }),
      ).toEqual(
        expect.objectContaining({
          ok: false,
          error: { code: 'INVALID_PAYLOAD', message: rateMessage('"5ms"') },
        }),
      );
      expect(
        await command(socket, 'unsubscribe', {
          channel: 'orderbook',
          symbol,
          rate: '1000ms',
          depth: 50,
        }),
      ).toEqual({ ok: true, channel: 'orderbook', symbol, rate: '1000ms', depth: 50 });
      gateway.emitter.emit(RealtimeEvent.OrderBookUpdate, {
        symbol,
        firstUpdateId: 2,
        lastUpdateId: 2,
        bids: [['1', '2']],
        asks: [],
      });
      await sleep(250);
      await roundTrip(socket);
      expect(books).toEqual([]);
    });
  });
});
