import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'socket.io';
import type { RealtimeSettings } from '../config/realtime-settings.js';
import type { ConnectionDrain } from '../lifecycle/connection-drain.service.js';
import type { ConnectionGuard } from '../limits/connection-guard.service.js';
import { gatewayParser } from './packet-decoder.js';
import { coalesceUpgradeWrites } from './upgrade-request.js';

/**
 * How long an Engine.IO connection may stay open without joining the served namespace
 * (Socket.IO's `connectTimeout`, 45 s by default). Joining takes one round trip and a token
 * check; until then a connection counts against no limit, so it is not left open for long.
 */
export const CONNECT_TIMEOUT_MS = 10_000;

const WAITING_TO_JOIN =
  'too many connections from your address have not joined yet; retry in a few seconds';

/** Socket.IO server options that follow from the module's settings. */
export function gatewayServerOptions(
  settings: RealtimeSettings,
  drain: ConnectionDrain,
  guard: ConnectionGuard,
): Partial<ServerOptions> & { namespace: string } {
  const origins = settings.corsOrigins;
  const allowed = origins === '*' ? undefined : new Set(origins);
  return {
    namespace: settings.namespace,
    cors: { origin: allowed ? [...allowed] : true },
    // CORS binds only browsers' HTTP requests; WebSocket upgrades are checked here too.
    allowRequest: (
      request: IncomingMessage,
      callback: (error: string | null | undefined, ok: boolean) => void,
    ) => {
      // A draining instance takes no new connections; its readiness already sends them elsewhere.
      if (drain.draining) return callback('server is shutting down', false);
      const origin = request.headers.origin;
      if (allowed && origin !== undefined && !allowed.has(origin)) return callback(null, false);
      if (!guard.admitsHandshake(request)) return callback(WAITING_TO_JOIN, false);
      coalesceUpgradeWrites(request);
      callback(null, true);
    },
    // Off, so Socket.IO encodes a broadcast's frame once for all its recipients.
    perMessageDeflate: false,
    // A larger inbound frame closes its connection.
    maxHttpBufferSize: settings.limits.maxMessageBytes,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Socket.IO's parser, refusing ack ids that are not safe integers.
    parser: gatewayParser,
  };
}
