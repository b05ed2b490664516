import type { CatalogueEvent } from '../events/catalogue-event.js';
import type { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { eventRoom } from '../events/rooms.js';
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

export interface StreamSubscriberClient {
  readonly isReady: boolean;
  subscribe(channels: string[], listener: (message: string, channel: string) => void): unknown;
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

export interface RedisRoomStreamsOptions {
  readonly instanceId: string;
  /** Prefix of every key and channel, namespace included. */
  readonly prefix: string;
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

/*
 * Positions a turn's messages, keeps their history and publishes them, in one step, so
 * every instance receives every room's messages in offset order on one channel.
 * KEYS: per room, its position hash and its history stream.
 * ARGV: channel, header, epoch for new rooms, position lifetime, ts, room count, then per
 * room its history size and age, then per message its room number and JSON.
 */
const APPEND_SCRIPT = `
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
redis.call('PUBLISH', ARGV[1], ARGV[2] .. positions .. '\\n[' .. table.concat(messages, ',') .. ']')
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
const OPEN_SCRIPT = `
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
redis.call('PUBLISH', ARGV[1], ARGV[2] .. '\\n' .. cjson.encode(results))
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

interface Batch {
  readonly messages: UnpositionedMessage[];
  timer?: NodeJS.Timeout;
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
 * and offset, one stream its history, and one pub/sub channel carries every positioned
 * message to every instance, this one too, so each delivers them in the same order. A turn
 * of the event loop costs one script call and one PUBLISH, however many messages it took in.
 *
 * While Redis is away (or does not answer within `STREAM_TIMEOUT_MS`) this instance
 * positions its messages alone, under epochs of its own: its clients keep their stream, and
 * a client that comes back is told its position's epoch changed.
 */
export class RedisRoomStreams {
  private readonly streamChannel: string;
  private readonly markerChannel: string;
  private readonly header: string;
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
  private appendSha: string | undefined;
  private openSha: string | undefined;

  constructor(
    private readonly pub: StreamCommandClient,
    private readonly sub: StreamSubscriberClient,
    private readonly options: RedisRoomStreamsOptions,
  ) {
    this.streamChannel = options.prefix + 'stream';
    this.markerChannel = `${options.prefix}opened#${options.instanceId}`;
    this.header = options.instanceId + '\n';
  }

  /** Listens on the stream; the subscriber client renews the subscription after a reconnect. */
  start(): void {
    void Promise.resolve(
      this.sub.subscribe([this.streamChannel, this.markerChannel], this.onMessage),
    ).catch(() => undefined);
  }

  get connected(): boolean {
    return this.pub.isReady && this.sub.isReady;
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
    for (const [id, batch] of this.inFlight) this.positionBatchLocally(id, batch);
    for (const [id, marker] of this.markers) this.openMarkerLocally(id, marker);
  }

  private readonly flushAppends = (): void => {
    const messages = this.pending;
    this.pending = [];
    for (let start = 0; start < messages.length; start += MAX_MESSAGES_PER_CALL)
      this.sendBatch(messages.slice(start, start + MAX_MESSAGES_PER_CALL));
  };

  private sendBatch(messages: UnpositionedMessage[]): void {
    const batch: Batch = { messages, local: false, done: false };
    this.unsettled.push(batch);
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
        keys.push(this.options.prefix + 'pos:' + room, this.options.prefix + 'hist:' + room);
        roomArgs.push(String(history.size), String(history.ageMs));
      }
      numbers.push(number);
      messageArgs.push(String(number), JSON.stringify([definition.event, data]));
    }
    const header = `${this.header}${id}\n${messages[0]!.ts}\n${numbers.join(',')}\n`;
    const args = [
      this.streamChannel,
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
    this.run('append', APPEND_SCRIPT, keys, args).then(
      (positions) => {
        // Delivered from the stream as every instance does; from the answer only when this
        // instance's subscriber is away and the stream will not bring it.
        if (!this.sub.isReady && this.inFlight.get(id) === batch)
          this.deliverFromAnswer(id, batch, String(positions), numbers);
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
      this.options.positionLocally(head.messages);
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
    for (let start = 0; start < opens.length; start += MAX_OPENS_PER_CALL)
      this.sendOpens(opens.slice(start, start + MAX_OPENS_PER_CALL));
  };

  private sendOpens(opens: PendingOpen[]): void {
    const id = ++this.nextMarker;
    const marker: Marker = { opens };
    if (!this.connected) return this.openMarkerLocally(id, marker);
    this.markers.set(id, marker);
    const keys: string[] = [];
    const args = [
      this.markerChannel,
      String(id),
      this.nextEpoch(),
      String(this.options.positionTtlMs),
      String(Date.now()),
    ];
    for (const { request } of opens) {
      keys.push(
        this.options.prefix + 'pos:' + request.room,
        this.options.prefix + 'hist:' + request.room,
      );
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
    this.run('open', OPEN_SCRIPT, keys, args).catch(() => this.openMarkerLocally(id, marker));
  }

  private openMarkerLocally(id: number, marker: Marker): void {
    if (this.markers.get(id) === marker) this.markers.delete(id);
    clearTimeout(marker.timer);
    for (const { request, resolve } of marker.opens) resolve(this.options.openLocally(request));
  }

  private readonly onMessage = (message: string, channel: string): void => {
    try {
      if (channel === this.streamChannel) this.onStream(message);
      else if (channel === this.markerChannel) this.onOpened(message);
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

  /** Runs a script by its digest, loading it when Redis does not know it (a new Redis). */
  private async run(
    which: 'append' | 'open',
    script: string,
    keys: string[],
    args: string[],
  ): Promise<unknown> {
    const sha = which === 'append' ? this.appendSha : this.openSha;
    const call = (command: 'EVALSHA' | 'EVAL', body: string) =>
      this.pub.sendCommand([command, body, String(keys.length), ...keys, ...args]);
    if (sha !== undefined) {
      try {
        return await call('EVALSHA', sha);
      } catch (error) {
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      }
    }
    const loaded = String(await this.pub.sendCommand(['SCRIPT', 'LOAD', script]));
    if (which === 'append') this.appendSha = loaded;
    else this.openSha = loaded;
    return call('EVALSHA', loaded);
  }
}
