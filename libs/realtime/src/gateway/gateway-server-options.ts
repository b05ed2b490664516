import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'socket.io';
import type { RealtimeSettings } from '../config/realtime-settings.js';
import type { ConnectionDrain } from '../lifecycle/connection-drain.service.js';

/** Socket.IO server options that follow from the module's settings. */
export function gatewayServerOptions(
  settings: RealtimeSettings,
  drain: ConnectionDrain,
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
      callback(null, !allowed || origin === undefined || allowed.has(origin));
    },
    // Off, so Socket.IO encodes a broadcast's frame once for all its recipients.
    perMessageDeflate: false,
    // A larger inbound frame closes its connection.
    maxHttpBufferSize: settings.limits.maxMessageBytes,
  };
}
