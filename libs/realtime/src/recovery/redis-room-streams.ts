import { createHash } from 'node:crypto';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import type { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { eventRoom } from '../events/rooms.js';
import {
  EVERYONE_BUS_GROUP,
  SINGLE_BUS_GROUP,
  busGroupOfRoom,
  busGroupPrefix,
  isUserGroup,
  symbolGroupName,
  userGroupName,
  userGroupNumber,
  type BusGroupLayout,
} from './bus-groups.js';
import type { ChannelHistory } from './recovery-options.js';
import { newEpoch } from './memory-room-logs.js';
import type {
  RecoveryFailure,
  RoomOpening,
  StoredMessage,
  StreamPosition,
} from './stream-position.js';

type Payload = Record<string, unknown>;

/** The commands this needs of a `redis` client. */
export interface StreamCommandClient {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
}

/** A listener of pub/sub messages, as node-redis calls it. */
export type StreamListener = (message: string, channel: string) => void;

/**
 * The commands this needs of the subscriber `redis` client. The others than `subscribe` are
 * needed only with bus groups (`unsubscribe` for user groups, the sharded ones with
 * `sharded`); node-redis resubscribes every channel with a listener after a reconnect.
 */
export interface StreamSubscriberClient {
  readonly isReady: boolean;
  subscribe(channels: string[], listener: StreamListener): unknown;
  unsubscribe?(channels: string[], listener: StreamListener): unknown;
  sSubscribe?(channels: string[], listener: StreamListener): unknown;
  sUnsubscribe?(channels: string[], listener: StreamListener): unknown;
}

/** Delivers one positioned message on this instance; `remote` when another instance took it in. */
export type StreamDelivery = (
  definition: CatalogueEvent,
  room: string,
  data: Payload,
  offset: number,
  epoch: string,
  ts: number,
  remote: boolean,
) => void;

/** A message this instance could not position through Redis, for it to position alone. */
export interface UnpositionedMessage {
  readonly definition: CatalogueEvent;
  readonly room: string;
  readonly history: ChannelHistory;
  readonly data: Payload;
  readonly ts: number;
}

/** The cluster bus spread over groups (see bus-groups.ts); absent for one group. */
export interface RoomStreamBus {
  readonly layout: BusGroupLayout;
  /** The namespace whose groups these are (their hash tags name it). */
  readonly namespace: string;
  /** SPUBLISH / SSUBSCRIBE (Redis 7 sharded pub/sub) instead of PUBLISH / SUBSCRIBE. */
  readonly sharded: boolean;
  /** How long a user group stays subscribed after this instance's last user of it left. */
  readonly userGroupLingerMs: number;
}

export interface RedisRoomStreamsOptions {
  readonly instanceId: string;
  /** Prefix of every key and channel, namespace included (of the one group, without `bus`). */
  readonly prefix: string;
  /** Spreads keys and channels over bus groups; without it (or with one group) one channel. */
  readonly bus?: RoomStreamBus;
  readonly positionTtlMs: number;
  readonly catalogue: RealtimeCatalogue;
  readonly deliver: StreamDelivery;
  /** Positions messages on this instance alone when Redis could not. */
  readonly positionLocally: (messages: readonly UnpositionedMessage[]) => void;
  /** Opens a subscription on this instance alone when Redis could not. */
  readonly openLocally: (request: OpenRequest) => RoomOpening;
}

export interface OpenRequest {
  readonly room: string;
  readonly history: ChannelHistory;
  readonly since: StreamPosition | undefined;
}

/** Most messages one script call positions; a longer turn takes several calls. */
const MAX_MESSAGES_PER_CALL = 500;
/** Most subscriptions one script call opens. */
const MAX_OPENS_PER_CALL = 200;
/** Longest this instance waits for Redis to position a batch or open subscriptions. */
export const STREAM_TIMEOUT_MS = 2000;
/** Batches waiting for Redis beyond which new ones are positioned locally at once. */
const MAX_BATCHES_IN_FLIGHT = 1000;

/** How a script publishes: PUBLISH, or SPUBLISH on sharded pub/sub (Redis 7). */
type PublishCommand = 'PUBLISH' | 'SPUBLISH';

/*
 * Positions a turn's messages (of one bus group), keeps their history and publishes them, in
 * one step, so every instance receives every room's messages in offset order on one channel.
 * KEYS: per room, its position hash and its history stream.
 * ARGV: channel, header, epoch for new rooms, position lifetime, ts, room count, then per
 * room its history size and age, then per message its room number and JSON.
 */
const appendScript = (publish: PublishCommand) => `
local rooms = tonumber(ARGV[6])
local base = 6 + 2 * rooms
local epochs = {}
for r = 1, rooms do
  local position = KEYS[2 * r - 1]
  local epoch = redis.call('HGET', position, 'e')
  if not epoch then
    epoch = ARGV[3]
    redis.call('HSET', position, 'e', epoch, 'o', 0)
    redis.call('DEL', KEYS[2 * r])
  end
  epochs[r] = epoch
end
local offsets, messages = {}, {}
local count = (#ARGV - base) / 2
for i = 1, count do
  local r = tonumber(ARGV[base + 2 * i - 1])
  local message = ARGV[base + 2 * i]
  local offset = redis.call('HINCRBY', KEYS[2 * r - 1], 'o', 1)
  offsets[i] = offset
  messages[i] = message
  local size = tonumber(ARGV[5 + 2 * r])
  if size > 0 then
    redis.call('XADD', KEYS[2 * r], 'MAXLEN', size, offset .. '-1', 't', ARGV[5], 'm', message)
  end
end
for r = 1, rooms do
  redis.call('PEXPIRE', KEYS[2 * r - 1], ARGV[4])
  if tonumber(ARGV[5 + 2 * r]) > 0 then redis.call('PEXPIRE', KEYS[2 * r], ARGV[6 + 2 * r]) end
end
local positions = cjson.encode(epochs) .. '\\n' .. table.concat(offsets, ',')
redis.call('${publish}', ARGV[1], ARGV[2] .. positions .. '\\n[' .. table.concat(messages, ',') .. ']')
return positions
`;

/*
 * Reads each room's position (creating it for a new room) and what a client since missed,
 * and publishes the answer to this instance's own channel: it arrives after every room
 * message published before it, so the answer and the live stream join without a hole.
 * KEYS: per room, its position hash and its history stream.
 * ARGV: channel, marker, epoch for new rooms, position lifetime, now, then per room: since
 * offset (-1 for none), since epoch, history size, history age.
 */
const openScript = (publish: PublishCommand) => `
local results = {}
for r = 1, #KEYS / 2 do
  local position, history = KEYS[2 * r - 1], KEYS[2 * r]
  local a = 5 + 4 * (r - 1)
  local epoch = redis.call('HGET', position, 'e')
  local offset = 0
  if not epoch then
    epoch = ARGV[3]
    redis.call('HSET', position, 'e', epoch, 'o', 0)
    redis.call('DEL', history)
  else
    offset = tonumber(redis.call('HGET', position, 'o')) or 0
  end
  redis.call('PEXPIRE', position, ARGV[4])
  local result = { epoch, offset }
  local since = tonumber(ARGV[a + 1])
  if since >= 0 then
    local size = tonumber(ARGV[a + 3])
    if size == 0 then
      result[3] = 'history_off'
    elseif ARGV[a + 2] ~= epoch or since > offset then
      result[3] = 'epoch_changed'
    elseif since == offset then
      result[3] = 'ok'
      result[4] = {}
    else
      local entries = redis.call('XRANGE', history, (since + 1) .. '-1', '+', 'COUNT', offset - since)
      local first = entries[1]
      if not first or first[1] ~= (since + 1) .. '-1' or tonumber(first[2][2]) < tonumber(ARGV[5]) - tonumber(ARGV[a + 4]) then
        result[3] = 'too_old'
      else
        local missed = {}
        for i, entry in ipairs(entries) do
          missed[i] = { tonumber(string.match(entry[1], '^%d+')), tonumber(entry[2][2]), entry[2][4] }
        end
        result[3] = 'ok'
        result[4] = missed
      end
    end
  end
  results[r] = result
end
redis.call('${publish}', ARGV[1], ARGV[2] .. '\\n' .. cjson.encode(results))
return 1
`;

/**
 * Runs `action` after the I/O that is already waiting: when the event loop itself stalled
 * (a long GC, a starved CPU), timers run before the poll phase that would deliver Redis's
 * answer, and giving up then would split a room's stream for nothing.
 */
function afterPendingIo(action: () => void): void {
  setImmediate(action);
}

/**
 * How this instance relates to a bus group: `always` listens to it (the everyone group, the
 * symbol groups it serves, the one group without bus groups); `users` while users of it are
 * connected here; `foreign` never (symbol groups of another instance pool).
 */
type GroupRole = 'always' | 'users' | 'foreign';

/** Retry delay of a (re)subscription Redis refused or lost (a disconnect while it was sent). */
const SUBSCRIBE_RETRY_MS = 1000;

interface BusGroup {
  readonly name: string;
  /** Of its keys: `{realtime:/ws:s3}:`, one hash slot. */
  readonly prefix: string;
  readonly streamChannel: string;
  /** This instance's markers for opens of the group's rooms: same slot, same connection. */
  readonly markerChannel: string;
  readonly role: GroupRole;
  /** The subscription is confirmed: the group's stream and markers reach this instance. */
  listening: boolean;
  subscribing: boolean;
  /** Connections (and opens under way) here that need a `users` group. */
  holders: number;
  linger?: NodeJS.Timeout;
  /** Opens of its rooms waiting for its subscription. */
  waiting: PendingOpen[];
  waitTimer?: NodeJS.Timeout;
}

interface Batch {
  readonly group: BusGroup;
  readonly messages: UnpositionedMessage[];
  timer?: NodeJS.Timeout;
  /** This instance gets the batch back from the group's stream (when its subscriber is up). */
  listened: boolean;
  /** Redis answered the script (the stream message may still be on its way). */
  answered: boolean;
  /** To be positioned here alone, once every batch taken in before it is settled. */
  local: boolean;
  /** Delivered (from Redis or locally). */
  done: boolean;
}

/**
 * Told what opening found, synchronously where it is found: the caller joins the room in
 * that same call, before the next stream message of the same socket read is delivered.
 */
export type OpenedCallback = (opening: RoomOpening) => void;

interface PendingOpen {
  readonly request: OpenRequest;
  readonly resolve: OpenedCallback;
}

interface Marker {
  readonly opens: PendingOpen[];
  timer?: NodeJS.Timeout;
}

/**
 * Room streams shared by every instance through Redis: one hash per room holds its epoch
 * and offset, one stream its history, and a pub/sub channel carries every positioned
 * message to every instance that listens, this one too, so each delivers them in the same
 * order. A turn of the event loop costs one script call and one PUBLISH per bus group it
 * touched, however many messages it took in.
 *
 * With bus groups (`options.bus`) each group has its own keys and channels (its hash tag):
 * an instance listens to the everyone group, the symbol groups it serves and the user groups
 * of its connected users. A room's messages and the markers of its opens travel on its
 * group's channels, in one slot, so they reach the instance on one connection in Redis's
 * order: a join stays hole-free.
 *
 * While Redis is away (or does not answer within `STREAM_TIMEOUT_MS`) this instance
 * positions its messages alone, under epochs of its own: its clients keep their stream, and
 * a client that comes back is told its position's epoch changed.
 */
export class RedisRoomStreams {
  private readonly header: string;
  private readonly groupCount: number;
  private readonly publish: PublishCommand;
  private readonly appendBody: string;
  private readonly openBody: string;
  private readonly groups = new Map<string, BusGroup>();
  /** Every channel this instance may listen to: its group, and whether it is the stream. */
  private readonly channels = new Map<string, { group: BusGroup; stream: boolean }>();
  private pending: UnpositionedMessage[] = [];
  private opens: PendingOpen[] = [];
  private readonly inFlight = new Map<number, Batch>();
  /**
   * Batches not yet settled, in the order taken in. A batch positioned locally waits for
   * those before it, and once one is local every later one is too until the queue empties,
   * so an outage never reorders a room's messages on the instance that took them in.
   */
  private readonly unsettled: Batch[] = [];
  private localWaiting = 0;
  private readonly markers = new Map<number, Marker>();
  private nextBatch = 0;
  private nextMarker = 0;
  /** New rooms' epochs: unique per script call without drawing random bytes for each. */
  private readonly epochBase = newEpoch();
  private epochs = 0;
  private readonly appendSha: string;
  private readonly openSha: string;
  /**
   * The scripts Redis ran for this instance since it was last away: only those are called
   * by digest (see `run`).
   */
  private readonly confirmed = new Set<'append' | 'open'>();
  private disposed = false;

  constructor(
    private readonly pub: StreamCommandClient,
    private readonly sub: StreamSubscriberClient,
    private readonly options: RedisRoomStreamsOptions,
  ) {
    this.header = options.instanceId + '\n';
    this.groupCount = options.bus?.layout.groups ?? 1;
    // One group: today's PUBLISH, whatever `sharded` says (keys, channels and messages unchanged).
    this.publish = this.groupCount > 1 && options.bus?.sharded ? 'SPUBLISH' : 'PUBLISH';
    this.appendBody = appendScript(this.publish);
    this.openBody = openScript(this.publish);
    this.appendSha = scriptDigest(this.appendBody);
    this.openSha = scriptDigest(this.openBody);
  }

  /** Listens on the streams; the subscriber client renews the subscriptions after a reconnect. */
  start(): void {
    if (this.groupCount === 1) return this.listen(this.group(SINGLE_BUS_GROUP));
    this.listen(this.group(EVERYONE_BUS_GROUP));
    for (const number of this.options.bus!.layout.symbolGroups)
      this.listen(this.group(symbolGroupName(number)));
  }

  get connected(): boolean {
    return this.pub.isReady && this.sub.isReady;
  }

  /**
   * The bus group a room's messages travel in when this instance does not serve it (a
   * symbol of another instance pool), or undefined when it does.
   */
  unservedGroup(room: string): string | undefined {
    if (this.groupCount === 1) return undefined;
    const group = this.group(busGroupOfRoom(room, this.groupCount));
    return group.role === 'foreign' ? group.name : undefined;
  }

  /**
   * A connection of `userId` arrived: its user group is listened to from now on (its
   * private opens wait for that subscription). No-op without bus groups.
   */
  holdUser(userId: string): void {
    if (this.groupCount === 1) return;
    this.hold(this.group(userGroupName(userGroupNumber(userId, this.groupCount))));
  }

  /** A connection of `userId` left: its group is let go some time after its last one. */
  releaseUser(userId: string): void {
    if (this.groupCount === 1) return;
    this.release(this.group(userGroupName(userGroupNumber(userId, this.groupCount))));
  }

  append(
    definition: CatalogueEvent,
    room: string,
    history: ChannelHistory,
    data: Payload,
    ts: number,
  ): void {
    if (this.pending.length === 0) setImmediate(this.flushAppends);
    this.pending.push({ definition, room, history, data, ts });
  }

  /** Opens a subscription; `opened` is called once, from the marker's own delivery. */
  open(request: OpenRequest, opened: OpenedCallback): void {
    if (this.opens.length === 0) setImmediate(this.flushOpens);
    this.opens.push({ request, resolve: opened });
  }

  /** Settles what still waits: positioned and opened locally, nothing left hanging. */
  dispose(): void {
    this.disposed = true;
    for (const [id, batch] of this.inFlight) this.positionBatchLocally(id, batch);
    for (const [id, marker] of this.markers) this.openMarkerLocally(id, marker);
    for (const group of this.groups.values()) {
      clearTimeout(group.linger);
      this.openWaitingLocally(group);
    }
  }

  /** The group of that name, made on first use. */
  private group(name: string): BusGroup {
    let group = this.groups.get(name);
    if (group) return group;
    const prefix =
      this.groupCount === 1
        ? this.options.prefix
        : busGroupPrefix(this.options.bus!.namespace, name);
    const role: GroupRole =
      this.groupCount === 1 || name === EVERYONE_BUS_GROUP
        ? 'always'
        : isUserGroup(name)
          ? 'users'
          : this.options.bus!.layout.symbolGroups.includes(Number(name.slice(1)))
            ? 'always'
            : 'foreign';
    group = {
      name,
      prefix,
      streamChannel: prefix + 'stream',
      markerChannel: `${prefix}opened#${this.options.instanceId}`,
      role,
      listening: false,
      subscribing: false,
      holders: 0,
      waiting: [],
    };
    this.groups.set(name, group);
    this.channels.set(group.streamChannel, { group, stream: true });
    this.channels.set(group.markerChannel, { group, stream: false });
    return group;
  }

  private groupOfRoom(room: string): BusGroup {
    return this.group(busGroupOfRoom(room, this.groupCount));
  }

  /** Whether this instance delivers a group's messages (its own ones, when Redis is away too). */
  private deliversHere(group: BusGroup): boolean {
    if (group.role === 'always') return true;
    return group.role === 'users' && (group.listening || group.holders > 0);
  }

  private hold(group: BusGroup): void {
    group.holders++;
    clearTimeout(group.linger);
    group.linger = undefined;
    this.listen(group);
  }

  private release(group: BusGroup): void {
    if (group.holders === 0) return;
    if (--group.holders > 0) return;
    clearTimeout(group.linger);
    group.linger = setTimeout(() => {
      group.linger = undefined;
      if (group.holders === 0) this.unlisten(group);
    }, this.options.bus!.userGroupLingerMs);
    group.linger.unref();
  }

  /**
   * Subscribes to a group's stream and markers in one command (one slot: one shard). node-redis
   * renews a confirmed subscription after a reconnect, but one under way when the connection
   * dropped fails and is forgotten: that one is sent again.
   */
  private listen(group: BusGroup): void {
    if (group.listening || group.subscribing || this.disposed) return;
    group.subscribing = true;
    const channels = [group.streamChannel, group.markerChannel];
    const subscribed =
      this.publish === 'SPUBLISH'
        ? this.sub.sSubscribe!(channels, this.onMessage)
        : this.sub.subscribe(channels, this.onMessage);
    Promise.resolve(subscribed).then(
      () => {
        group.subscribing = false;
        if (this.disposed) return;
        group.listening = true;
        this.flushWaiting(group);
      },
      () => {
        group.subscribing = false;
        if (this.disposed || (group.role === 'users' && group.holders === 0)) return;
        setTimeout(() => this.listen(group), SUBSCRIBE_RETRY_MS).unref();
      },
    );
  }

  /** Lets go of a user group nobody here needs any more. */
  private unlisten(group: BusGroup): void {
    if (!group.listening || this.disposed) return;
    group.listening = false;
    // Its batches in flight will not come back on the stream: Redis's answer settles them.
    for (const [id, batch] of this.inFlight)
      if (batch.group === group) {
        batch.listened = false;
        if (batch.answered) {
          this.positionedByRedis(id, batch);
          this.settle();
        }
      }
    const channels = [group.streamChannel, group.markerChannel];
    const unsubscribed =
      this.publish === 'SPUBLISH'
        ? this.sub.sUnsubscribe?.(channels, this.onMessage)
        : this.sub.unsubscribe?.(channels, this.onMessage);
    // Refused (Redis away): the listener stays and its messages are ignored until held again.
    void Promise.resolve(unsubscribed).catch(() => undefined);
  }

  private readonly flushAppends = (): void => {
    const messages = this.pending;
    this.pending = [];
    if (this.groupCount === 1) return this.sendBatches(this.group(SINGLE_BUS_GROUP), messages);
    // One script call per group: its keys are in one slot. A room is in one group, so its
    // messages keep their order.
    const byGroup = new Map<BusGroup, UnpositionedMessage[]>();
    for (const message of messages) {
      const group = this.groupOfRoom(message.room);
      const list = byGroup.get(group);
      if (list) list.push(message);
      else byGroup.set(group, [message]);
    }
    for (const [group, list] of byGroup) this.sendBatches(group, list);
  };

  private sendBatches(group: BusGroup, messages: UnpositionedMessage[]): void {
    for (let start = 0; start < messages.length; start += MAX_MESSAGES_PER_CALL)
      this.sendBatch(group, messages.slice(start, start + MAX_MESSAGES_PER_CALL));
  }

  private sendBatch(group: BusGroup, messages: UnpositionedMessage[]): void {
    // Listened: the stream brings it back. Otherwise (a group nobody here needs) the answer
    // settles it, unless the stream is quicker because a subscription was just confirmed.
    const listened = group.role === 'always' || group.listening;
    const batch: Batch = { group, messages, listened, answered: false, local: false, done: false };
    this.unsettled.push(batch);
    if (!this.connected) this.confirmed.clear();
    if (!this.connected || this.inFlight.size >= MAX_BATCHES_IN_FLIGHT || this.localWaiting > 0) {
      batch.local = true;
      this.localWaiting++;
      return this.settle();
    }
    const id = ++this.nextBatch;
    this.inFlight.set(id, batch);
    const roomNumbers = new Map<string, number>();
    const keys: string[] = [];
    const roomArgs: string[] = [];
    const messageArgs: string[] = [];
    const numbers: number[] = [];
    for (const { definition, room, history, data } of messages) {
      let number = roomNumbers.get(room);
      if (number === undefined) {
        number = roomNumbers.size + 1;
        roomNumbers.set(room, number);
        keys.push(group.prefix + 'pos:' + room, group.prefix + 'hist:' + room);
        roomArgs.push(String(history.size), String(history.ageMs));
      }
      numbers.push(number);
      messageArgs.push(String(number), JSON.stringify([definition.event, data]));
    }
    const header = `${this.header}${id}\n${messages[0]!.ts}\n${numbers.join(',')}\n`;
    const args = [
      group.streamChannel,
      header,
      this.nextEpoch(),
      String(this.options.positionTtlMs),
      String(messages[0]!.ts),
      String(roomNumbers.size),
      ...roomArgs,
      ...messageArgs,
    ];
    batch.timer = setTimeout(
      () => afterPendingIo(() => this.positionBatchLocally(id, batch)),
      STREAM_TIMEOUT_MS,
    );
    this.run('append', keys, args).then(
      (positions) => {
        batch.answered = true;
        if (this.inFlight.get(id) !== batch) return;
        if (!batch.listened) {
          this.positionedByRedis(id, batch);
          return this.settle();
        }
        // Delivered from the stream as every instance does; from the answer only when this
        // instance's subscriber is away and the stream will not bring it.
        if (!this.sub.isReady) this.deliverFromAnswer(id, batch, String(positions), numbers);
      },
      () => this.positionBatchLocally(id, batch),
    );
  }

  /** Redis failed or did not answer in time: this instance positions the batch, in its turn. */
  private positionBatchLocally(id: number, batch: Batch): void {
    if (this.inFlight.get(id) !== batch) return;
    this.inFlight.delete(id);
    clearTimeout(batch.timer);
    batch.local = true;
    this.localWaiting++;
    this.settle();
  }

  /** A batch Redis positioned, which the caller delivers now, then settles. */
  private positionedByRedis(id: number, batch: Batch): void {
    this.inFlight.delete(id);
    clearTimeout(batch.timer);
    batch.done = true;
  }

  /** Positions the local batches whose turn came, and lets go of the settled ones. */
  private settle(): void {
    while (this.unsettled.length > 0) {
      const head = this.unsettled[0]!;
      if (!head.done && !head.local) return;
      this.unsettled.shift();
      if (head.done) continue;
      head.done = true;
      this.localWaiting--;
      // A group nobody here listens to: its messages are for other instances' clients.
      if (this.deliversHere(head.group)) this.options.positionLocally(head.messages);
    }
  }

  private deliverFromAnswer(id: number, batch: Batch, positions: string, numbers: number[]) {
    this.positionedByRedis(id, batch);
    const newline = positions.indexOf('\n');
    const epochs = JSON.parse(positions.slice(0, newline)) as string[];
    const offsets = positions.slice(newline + 1).split(',');
    batch.messages.forEach(({ definition, room, data, ts }, i) =>
      this.options.deliver(
        definition,
        room,
        data,
        Number(offsets[i]),
        epochs[numbers[i]! - 1]!,
        ts,
        false,
      ),
    );
    this.settle();
  }

  private readonly flushOpens = (): void => {
    const opens = this.opens;
    this.opens = [];
    if (this.groupCount === 1) return this.sendOpenBatches(this.group(SINGLE_BUS_GROUP), opens);
    const byGroup = new Map<BusGroup, PendingOpen[]>();
    for (const open of opens) {
      const group = this.groupOfRoom(open.request.room);
      const list = byGroup.get(group);
      if (list) list.push(open);
      else byGroup.set(group, [open]);
    }
    for (const [group, list] of byGroup) {
      // Nothing of a foreign group reaches this instance: its rooms open as if Redis were away.
      if (group.role === 'foreign')
        for (const { request, resolve } of list) resolve(this.options.openLocally(request));
      else if (group.listening || !this.connected) this.sendOpenBatches(group, list);
      else this.waitForGroup(group, list);
    }
  };

  /**
   * Opens of a user group whose subscription is not confirmed yet: the marker and the
   * stream must reach this instance before the open runs, or the join could miss messages.
   * They wait for it (bounded), holding the group meanwhile.
   */
  private waitForGroup(group: BusGroup, opens: PendingOpen[]): void {
    for (const open of opens) {
      this.hold(group);
      group.waiting.push(open);
    }
    group.waitTimer ??= setTimeout(
      () => afterPendingIo(() => this.openWaitingLocally(group)),
      STREAM_TIMEOUT_MS,
    );
  }

  private flushWaiting(group: BusGroup): void {
    const waiting = this.takeWaiting(group);
    if (waiting.length > 0) this.sendOpenBatches(group, waiting);
  }

  private openWaitingLocally(group: BusGroup): void {
    for (const { request, resolve } of this.takeWaiting(group))
      resolve(this.options.openLocally(request));
  }

  private takeWaiting(group: BusGroup): PendingOpen[] {
    clearTimeout(group.waitTimer);
    group.waitTimer = undefined;
    const waiting = group.waiting;
    group.waiting = [];
    for (let i = 0; i < waiting.length; i++) this.release(group);
    return waiting;
  }

  private sendOpenBatches(group: BusGroup, opens: PendingOpen[]): void {
    for (let start = 0; start < opens.length; start += MAX_OPENS_PER_CALL)
      this.sendOpens(group, opens.slice(start, start + MAX_OPENS_PER_CALL));
  }

  private sendOpens(group: BusGroup, opens: PendingOpen[]): void {
    const id = ++this.nextMarker;
    const marker: Marker = { opens };
    if (!this.connected) return this.openMarkerLocally(id, marker);
    this.markers.set(id, marker);
    const keys: string[] = [];
    const args = [
      group.markerChannel,
      String(id),
      this.nextEpoch(),
      String(this.options.positionTtlMs),
      String(Date.now()),
    ];
    for (const { request } of opens) {
      keys.push(group.prefix + 'pos:' + request.room, group.prefix + 'hist:' + request.room);
      args.push(
        String(request.since?.offset ?? -1),
        request.since?.epoch ?? '',
        String(request.history.size),
        String(request.history.ageMs),
      );
    }
    marker.timer = setTimeout(
      () => afterPendingIo(() => this.openMarkerLocally(id, marker)),
      STREAM_TIMEOUT_MS,
    );
    this.run('open', keys, args).catch(() => this.openMarkerLocally(id, marker));
  }

  private openMarkerLocally(id: number, marker: Marker): void {
    if (this.markers.get(id) === marker) this.markers.delete(id);
    clearTimeout(marker.timer);
    for (const { request, resolve } of marker.opens) resolve(this.options.openLocally(request));
  }

  private readonly onMessage = (message: string, channel: string): void => {
    try {
      const known = this.channels.get(channel);
      // A user group let go while Redis was away keeps its listener: nothing for here.
      if (!known || !known.group.listening) return;
      if (known.stream) this.onStream(message);
      else this.onOpened(message);
    } catch {
      // A message this version cannot read (another version's instance): nothing to deliver.
    }
  };

  /** `origin \n batch \n ts \n room numbers \n epochs \n offsets \n [[event, data], ...]`. */
  private onStream(message: string): void {
    const fields: string[] = [];
    let start = 0;
    for (let i = 0; i < 6; i++) {
      const end = message.indexOf('\n', start);
      fields.push(message.slice(start, end));
      start = end + 1;
    }
    const [origin, batchId, ts, numbers, epochs, offsets] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const remote = origin !== this.options.instanceId;
    if (!remote) {
      const id = Number(batchId);
      const batch = this.inFlight.get(id);
      // Already positioned here alone (Redis answered too late): the others deliver it.
      if (!batch) return;
      this.positionedByRedis(id, batch);
    }
    const roomEpochs = JSON.parse(epochs) as string[];
    const roomOf = numbers.split(',');
    const offsetOf = offsets.split(',');
    const events = JSON.parse(message.slice(start)) as Array<[string, Payload]>;
    const sentAt = Number(ts);
    for (let i = 0; i < events.length; i++) {
      const [event, data] = events[i]!;
      const definition = this.options.catalogue.definition(event);
      if (!definition) continue;
      const epoch = roomEpochs[Number(roomOf[i]) - 1]!;
      const room = eventRoom(definition, data);
      this.options.deliver(definition, room, data, Number(offsetOf[i]), epoch, sentAt, remote);
    }
    if (!remote) this.settle();
  }

  private onOpened(message: string): void {
    const newline = message.indexOf('\n');
    const id = Number(message.slice(0, newline));
    const marker = this.markers.get(id);
    if (!marker) return;
    this.markers.delete(id);
    clearTimeout(marker.timer);
    const results = JSON.parse(message.slice(newline + 1)) as Array<
      [string, number, string?, unknown?]
    >;
    marker.opens.forEach(({ resolve }, i) => {
      const [epoch, offset, outcome, missed] = results[i]!;
      const position = { offset, epoch };
      if (outcome === undefined) return resolve({ position });
      if (outcome !== 'ok') return resolve({ position, failure: outcome as RecoveryFailure });
      resolve({ position, missed: this.storedMessages(missed) });
    });
  }

  private storedMessages(missed: unknown): StoredMessage[] {
    // An empty Lua table travels as `{}`.
    if (!Array.isArray(missed)) return [];
    const messages: StoredMessage[] = [];
    for (const [offset, ts, json] of missed as Array<[number, number, string]>) {
      const [event, data] = JSON.parse(json) as [string, Payload];
      const definition = this.options.catalogue.definition(event);
      if (definition) messages.push({ definition, data, offset, ts });
    }
    return messages;
  }

  private nextEpoch(): string {
    return this.epochBase + (++this.epochs).toString(36);
  }

  /**
   * Runs a script by its body until Redis has run it since it was last away, then by its
   * digest. A Redis that restarted knows no scripts: calling by digest, every call under way
   * would be refused (NOSCRIPT) until one instance loads the script, and a call sent after
   * that load would take its room's next offsets ahead of an earlier one sent again after
   * its refusal, so one instance's messages would reach every instance out of order. Calls by
   * body are never refused, and Redis runs one connection's calls in the order sent. A script
   * Redis dropped while connected (`SCRIPT FLUSH`) is called by body again from its first
   * refusal on; the calls already under way then may still overtake each other.
   */
  private async run(which: 'append' | 'open', keys: string[], args: string[]): Promise<unknown> {
    const call = (command: 'EVALSHA' | 'EVAL', body: string) =>
      this.pub.sendCommand([command, body, String(keys.length), ...keys, ...args]);
    if (this.confirmed.has(which)) {
      try {
        return await call('EVALSHA', which === 'append' ? this.appendSha : this.openSha);
      } catch (error) {
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
        this.confirmed.delete(which);
      }
    }
    const answer = await call('EVAL', which === 'append' ? this.appendBody : this.openBody);
    this.confirmed.add(which);
    return answer;
  }

  /** Redis is back from an outage (perhaps a new Redis): scripts are called by body again. */
  reconnected(): void {
    this.confirmed.clear();
  }
}

/** The SHA-1 digest Redis names a script by (`EVALSHA`). */
function scriptDigest(body: string): string {
  return createHash('sha1').update(body).digest('hex');
}
