import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { PacketType, type Packet } from 'socket.io-parser';
import type { Socket } from 'socket.io';
import WebSocket from 'ws';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { ServerEvent } from '../events/protocol-events.js';
import { holdUntilTurnEnds, type TcpStream } from '../gateway/engine-writes.js';
import { MAX_WAITING_COMMANDS } from '../gateway/realtime-io.adapter.js';
import { REFUSED_PACKET, type RefusedPacket } from '../gateway/packet-decoder.js';
import {
  AUTHENTICATE,
  AUTH_REQUIRED,
  JSON_TRANSPORT,
  PacketKind,
  answerFrame,
  answerType,
  eventFrame,
  eventName,
  eventPayload,
  isRefused,
  readClientFrame,
  readyFrame,
  refusalFrame,
  splitPacket,
  type ClientFrame,
  type FrameId,
  type ReadyFrame,
  type RefusedFrame,
} from './json-frames.js';

/** How long a connection that came without a token may take to send `authenticate`. */
export const AUTH_TIMEOUT_MS = 5_000;

/** Frames a connection may send before it has joined; more are refused. */
const MAX_FRAMES_BEFORE_JOIN = 32;

/** WebSocket close codes this face uses. */
const NORMAL_CLOSE = 1000;
const POLICY_CLOSE = 1008;

/** The parts of the handshake request Socket.IO and the limits read (as Engine.IO's `request`). */
export interface DoorRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly url: string;
  readonly _query: Readonly<Record<string, string>>;
  readonly connection: { readonly encrypted: boolean };
  readonly socket: { readonly remoteAddress: string };
}

/**
 * What a connection joins with, as a Socket.IO client's `auth`: the token `authenticate`
 * sent, and the options of the door's query (a token at the door is read from the request).
 */
export interface DoorAuth {
  token?: string;
  batch?: boolean;
  cancelOnDisconnect?: boolean;
}

/** The Engine.IO transport a Socket.IO connection reads: `writable`, and `socket` for limits. */
class JsonTransport {
  readonly name = JSON_TRANSPORT;
  constructor(readonly socket: WebSocket) {}
  get writable(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }
}

interface WebSocketInternals {
  _sender: { sendFrame(frame: ReadyFrame): void };
  _socket: TcpStream;
}

/** A command passed on to Socket.IO, waiting for its answer. */
interface PendingCommand {
  readonly id: FrameId | undefined;
  readonly command: string;
}

/** The last event frame built, for the next member of the same broadcast. */
let lastOptions: unknown;
let lastEncoded: string | undefined;
let lastFrame: ReadyFrame | undefined;

/**
 * One plain WebSocket, standing where Socket.IO expects an Engine.IO connection: Socket.IO
 * then runs the gateway for it as for any other connection (door, token, limits, commands,
 * rooms, recovery, drain), and this class translates both ways. A broadcast's frame is made
 * once for all its plain members from the text Socket.IO already encoded for the room.
 *
 * Joining: with a token at the door (`Authorization: Bearer` or `?token=`) it joins at once.
 * Without one it is sent `auth_required` and joins on its first frame: `authenticate` with a
 * token, anything else without; or without one after `AUTH_TIMEOUT_MS`.
 */
export class JsonConnection extends EventEmitter {
  /** 20 characters, as Engine.IO's ids; a flat string (a UUID is a rope of 14 pieces). */
  readonly id = randomBytes(15).toString('base64url');
  readonly protocol = 4;
  readonly remoteAddress: string;
  readonly transport: JsonTransport;
  readyState: 'open' | 'closing' | 'closed' = 'open';
  /** Set to null once Socket.IO has read it (see RealtimeIoAdapter). */
  request: DoorRequest | null;
  /** Whether it answered the last heartbeat (see JsonEndpoint). */
  alive = true;
  private socket: Socket | undefined;
  private connectSent = false;
  private beforeJoin: Array<ClientFrame | RefusedFrame> | undefined;
  private authFrameId: FrameId | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  /** Commands handed to Socket.IO and not answered yet; made at the first one. */
  private pending: Map<number, PendingCommand> | undefined;
  /** The endpoint's set of open connections, which this one leaves when it closes. */
  registry: Set<JsonConnection> | undefined;
  private nextAck = 0;
  private closeCode = NORMAL_CLOSE;

  constructor(
    private readonly ws: WebSocket,
    request: DoorRequest,
    private readonly namespace: string,
    private readonly door: DoorAuth,
    private readonly tokenAtDoor: boolean,
  ) {
    super();
    this.request = request;
    this.remoteAddress = request.socket.remoteAddress;
    this.transport = new JsonTransport(ws);
    // One set of listeners for every connection (`this` is the WebSocket): no closures each.
    (ws as OwnedWebSocket)[CONNECTION] = this;
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    // A frame over the size limit or a broken one: `ws` closes the socket and says why here.
    ws.on('error', ignoreError);
    ws.on('close', onClose);
  }

  /** Called once Socket.IO took the connection: joins now, or offers to authenticate. */
  opened(): void {
    if (this.tokenAtDoor) return this.join(this.doorOptions());
    this.sendText(answerFrame(undefined, AUTH_REQUIRED, `{"timeoutMs":${AUTH_TIMEOUT_MS}}`));
    this.authTimer = setTimeout(() => this.join(this.doorOptions()), AUTH_TIMEOUT_MS);
    this.authTimer.unref();
  }

  /** The namespace's Socket for this connection, once joined. */
  joined(socket: Socket): void {
    this.socket = socket;
    const waiting = this.beforeJoin;
    this.beforeJoin = undefined;
    for (const frame of waiting ?? []) this.pass(frame);
  }

  /** Engine.IO's `write`: one encoded Socket.IO packet, translated to this face's frame. */
  write(encoded: unknown, options?: unknown): this {
    if (this.readyState !== 'open' || typeof encoded !== 'string') return this;
    switch (encoded.charCodeAt(0)) {
      case PacketKind.Event:
        this.writeEvent(encoded, options);
        break;
      case PacketKind.Ack:
        this.writeAnswer(encoded);
        break;
      case PacketKind.ConnectError:
        this.writeRefusal(encoded);
        break;
      case PacketKind.Disconnect:
        // The one namespace is the whole connection here: leaving it ends it.
        this.close();
        break;
      default:
      // CONNECT: `connected` follows from the gateway; nothing else is sent to clients.
    }
    return this;
  }

  /** Engine.IO's `close`; `discard` cuts the socket without the closing handshake. */
  close(discard?: boolean): this {
    if (this.readyState === 'closed') return this;
    clearTimeout(this.authTimer);
    if (discard) this.ws.terminate();
    else if (this.readyState === 'open') this.ws.close(this.closeCode);
    this.readyState = 'closing';
    return this;
  }

  /** Sends a heartbeat; the connection is cut if it did not answer the last one. */
  heartbeat(): void {
    if (!this.alive) {
      this.close(true);
      return;
    }
    this.alive = false;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  /** @internal A frame of the WebSocket (see onMessage). */
  received(data: Buffer, isBinary: boolean): void {
    this.alive = true;
    if (this.readyState !== 'open') return;
    const frame: ClientFrame | RefusedFrame = isBinary
      ? { id: undefined, type: 'unknown', message: 'binary frame: send JSON text frames' }
      : readClientFrame(data.toString());
    if (this.socket) return this.pass(frame);
    if (!this.connectSent) {
      if (!isRefused(frame) && frame.type === AUTHENTICATE) return this.authenticate(frame);
      this.join(this.doorOptions());
    }
    const waiting = (this.beforeJoin ??= []);
    if (waiting.length >= MAX_FRAMES_BEFORE_JOIN) {
      return this.refuseHere(
        frame.id,
        frame.type,
        RealtimeErrorCode.RateLimited,
        `more than ${MAX_FRAMES_BEFORE_JOIN} frames before the connection joined; this one was dropped`,
      );
    }
    waiting.push(frame);
  }

  private authenticate(frame: ClientFrame): void {
    const data = frame.data as Record<string, unknown> | undefined;
    const token = typeof data === 'object' && data !== null ? data.token : undefined;
    if (typeof token !== 'string' || token.length === 0) {
      return this.refuseHere(
        frame.id,
        AUTHENTICATE,
        RealtimeErrorCode.InvalidPayload,
        'authenticate needs data: { token: "<JWT>" }',
      );
    }
    this.authFrameId = frame.id;
    const options = this.doorOptions();
    if (typeof data?.cancelOnDisconnect === 'boolean')
      options.cancelOnDisconnect = data.cancelOnDisconnect;
    if (typeof data?.batch === 'boolean') options.batch = data.batch;
    this.join({ ...options, token });
  }

  private doorOptions(): DoorAuth {
    return { ...this.door };
  }

  /** Asks Socket.IO to join the namespace with `auth`, as a Socket.IO client's CONNECT does. */
  private join(auth: DoorAuth): void {
    if (this.connectSent) return;
    this.connectSent = true;
    clearTimeout(this.authTimer);
    const prefix = this.namespace === '/' ? '0' : `0${this.namespace},`;
    this.emit('data', prefix + JSON.stringify(auth));
  }

  /** Hands one frame to the connection's Socket, in its turn, as Socket.IO's decoder would. */
  private pass(frame: ClientFrame | RefusedFrame): void {
    const pending = (this.pending ??= new Map());
    if (pending.size >= MAX_WAITING_COMMANDS) {
      return this.refuseHere(
        frame.id,
        frame.type,
        RealtimeErrorCode.RateLimited,
        `more than ${MAX_WAITING_COMMANDS} commands waiting for an answer; this one was dropped`,
      );
    }
    const ackId = this.nextAck++;
    let data: unknown[];
    if (isRefused(frame)) {
      const refused: RefusedPacket = { command: frame.type, message: frame.message };
      data = [REFUSED_PACKET, refused];
    } else if (frame.type === AUTHENTICATE) {
      const refused: RefusedPacket = {
        command: AUTHENTICATE,
        message: 'already joined; renew the token with auth.refresh',
      };
      data = [REFUSED_PACKET, refused];
    } else {
      data = frame.data === undefined ? [frame.type] : [frame.type, frame.data];
    }
    pending.set(ackId, { id: frame.id, command: frame.type });
    const packet: Packet = { type: PacketType.EVENT, nsp: this.namespace, id: ackId, data };
    (this.socket!.client as unknown as { ondecoded(packet: Packet): void }).ondecoded(packet);
  }

  private writeEvent(encoded: string, options: unknown): void {
    const { body } = splitPacket(encoded);
    if (this.authFrameId !== undefined && eventName(body) === ServerEvent.Connected) {
      const id = this.authFrameId;
      this.authFrameId = undefined;
      return this.sendText(answerFrame(id, ServerEvent.Connected, eventPayload(body)));
    }
    if (options !== lastOptions || encoded !== lastEncoded || lastFrame === undefined) {
      lastOptions = options;
      lastEncoded = encoded;
      lastFrame = readyFrame(eventFrame(body));
    }
    this.send(lastFrame);
  }

  private writeAnswer(encoded: string): void {
    const { ackId, body } = splitPacket(encoded);
    if (ackId === undefined) return;
    const command = this.pending?.get(ackId);
    if (!command) return;
    this.pending!.delete(ackId);
    // The ack's arguments are `[answer]`.
    const answer = body.slice(1, -1);
    this.sendText(answerFrame(command.id, answerType(command.command, answer), answer));
  }

  /** A refused join (a limit, a token): the reason, then the close Socket.IO asks for. */
  private writeRefusal(encoded: string): void {
    const { body } = splitPacket(encoded);
    let code: RealtimeErrorCode = RealtimeErrorCode.Internal;
    let message = 'connection refused';
    try {
      const refusal = JSON.parse(body) as { message?: string; data?: { code?: string } };
      message = refusal.message ?? message;
      code = (refusal.data?.code as RealtimeErrorCode | undefined) ?? code;
    } catch {
      // Socket.IO encodes it; a body it did not would still be refused.
    }
    const command = this.authFrameId !== undefined ? AUTHENTICATE : 'connect';
    this.closeCode = POLICY_CLOSE;
    this.sendText(refusalFrame(this.authFrameId, command, code, message));
  }

  private refuseHere(
    id: FrameId | undefined,
    command: string,
    code: RealtimeErrorCode,
    message: string,
  ): void {
    this.sendText(refusalFrame(id, command, code, message));
  }

  private sendText(text: string): void {
    this.send(readyFrame(text));
  }

  /** Writes a ready frame; writes of one turn leave together (see engine-writes.ts). */
  private send(frame: ReadyFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const internals = this.ws as unknown as WebSocketInternals;
    holdUntilTurnEnds(internals._socket);
    internals._sender.sendFrame(frame);
  }

  /** @internal The WebSocket's close (see onClose). */
  closed(): void {
    clearTimeout(this.authTimer);
    this.pending = undefined;
    this.beforeJoin = undefined;
    this.registry?.delete(this);
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.emit('close', 'transport close');
  }
}

const CONNECTION = Symbol('realtime.jsonConnection');
type OwnedWebSocket = WebSocket & { [CONNECTION]: JsonConnection };

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  (this as OwnedWebSocket)[CONNECTION].received(data as Buffer, isBinary);
}

function onPong(this: WebSocket): void {
  (this as OwnedWebSocket)[CONNECTION].alive = true;
}

function ignoreError(): void {}

function onClose(this: WebSocket): void {
  (this as OwnedWebSocket)[CONNECTION].closed();
}

/** Whether an Engine.IO connection is one of this face's. */
export function isJsonConnection(conn: unknown): conn is JsonConnection {
  return conn instanceof JsonConnection;
}
