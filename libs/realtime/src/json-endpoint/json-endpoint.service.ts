import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Namespace, Socket } from 'socket.io';
import { WebSocketServer, type WebSocket } from 'ws';
import { handshakeToken } from '../auth/handshake-token.js';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { AppWebSocketGateway } from '../gateway/app-websocket.gateway.js';
import {
  JsonConnection,
  isJsonConnection,
  type DoorAuth,
  type DoorRequest,
} from './json-connection.js';

/** How often a plain connection is pinged; one that missed the last ping is cut. */
export const HEARTBEAT_INTERVAL_MS = 25_000;

/** The request headers a plain connection keeps while it joins: what the door and limits read. */
const KEPT_HEADERS = ['authorization', 'origin', 'x-forwarded-for', 'user-agent'] as const;

type AllowRequest = (
  request: IncomingMessage,
  callback: (error: string | null | undefined, ok: boolean) => void,
) => void;

/**
 * The plain-WebSocket JSON face (docs/PROTOCOL.md), on the gateway's HTTP server at
 * `jsonPath`: each connection is admitted by the same door as Engine.IO's (origin, drain, not
 * yet joined per address) and handed to Socket.IO as one of its own (see JsonConnection), so
 * the gateway serves both faces with one set of handlers, rooms and limits.
 */
@Injectable()
export class JsonEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connections = new Set<JsonConnection>();
  private webSockets: WebSocketServer | undefined;
  private heartbeats: NodeJS.Timeout | undefined;
  private detach: (() => void) | undefined;

  constructor(
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(AppWebSocketGateway) private readonly gateway: AppWebSocketGateway,
  ) {}

  onApplicationBootstrap(): void {
    const path = this.settings.jsonPath;
    const namespace = this.gateway.server as Namespace | undefined;
    const httpServer = namespace?.server.httpServer;
    if (path === null || !namespace || !httpServer) return;
    const engine = namespace.server.engine as unknown as {
      opts: { allowRequest?: AllowRequest };
      emit(event: 'connection', conn: unknown): boolean;
    };
    this.webSockets = new WebSocketServer({
      noServer: true,
      maxPayload: this.settings.limits.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (pathOf(request.url) !== path) return;
      socket.on('error', ignore);
      const admit = engine.opts.allowRequest ?? allowAll;
      admit(request, (error, ok) => {
        if (!ok) return refuseUpgrade(socket, error ?? 'Forbidden');
        this.webSockets!.handleUpgrade(request, socket, head, (ws) => {
          const conn = this.accept(ws, request, namespace.name);
          // As Engine.IO announces its own: the door's and the limits' listeners, then Socket.IO.
          engine.emit('connection', conn);
          conn.opened();
        });
      });
    };
    const joined = (socket: Socket): void => {
      const conn: unknown = socket.conn;
      if (isJsonConnection(conn)) conn.joined(socket);
    };
    httpServer.on('upgrade', upgrade);
    namespace.on('connection', joined);
    this.detach = () => {
      httpServer.off('upgrade', upgrade);
      namespace.off('connection', joined);
    };
    this.heartbeats = setInterval(() => this.heartbeat(), HEARTBEAT_INTERVAL_MS);
    this.heartbeats.unref();
  }

  /** After the drain: what is still open is cut, so the HTTP server can close. */
  onApplicationShutdown(): void {
    clearInterval(this.heartbeats);
    this.detach?.();
    for (const conn of this.connections) conn.close(true);
    this.connections.clear();
    this.webSockets?.close();
  }

  /** Pings every plain connection; one that did not answer the last ping is cut. */
  heartbeat(): void {
    for (const conn of this.connections) conn.heartbeat();
  }

  /** Plain connections open on this instance (for tests and operators). */
  get size(): number {
    return this.connections.size;
  }

  private accept(ws: WebSocket, request: IncomingMessage, namespace: string): JsonConnection {
    const url = request.url ?? '/';
    const query = Object.fromEntries(new URL(url, 'http://gateway').searchParams);
    const headers: Record<string, string | string[] | undefined> = {};
    for (const name of KEPT_HEADERS) {
      if (request.headers[name] !== undefined) headers[name] = request.headers[name];
    }
    const door: DoorRequest = {
      headers,
      url,
      _query: query,
      connection: { encrypted: (request.socket as { encrypted?: boolean }).encrypted === true },
      socket: { remoteAddress: request.socket.remoteAddress ?? '' },
    };
    const options: DoorAuth = {};
    if (query.batch !== undefined) options.batch = isTrue(query.batch);
    if (query.cancelOnDisconnect !== undefined)
      options.cancelOnDisconnect = isTrue(query.cancelOnDisconnect);
    const tokenAtDoor = handshakeToken({ auth: {}, query, headers }) !== undefined;
    const conn = new JsonConnection(ws, door, namespace, options, tokenAtDoor);
    this.connections.add(conn);
    conn.registry = this.connections;
    return conn;
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function isTrue(value: string): boolean {
  return value === 'true' || value === '1';
}

function ignore(): void {}

function allowAll(_request: IncomingMessage, callback: (error: null, ok: boolean) => void): void {
  callback(null, true);
}

/** Engine.IO's answer to a refused upgrade, with the reason. */
function refuseUpgrade(socket: Duplex, reason: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ code: 4, message: reason });
  socket.end(
    'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
