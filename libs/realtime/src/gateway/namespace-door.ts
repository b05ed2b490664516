import type { Server, Socket } from 'socket.io';
import { boundCloses, type ClosingConnection } from './connection-release.js';
import { endRefusedConnections, type EngineConnection } from './engine-writes.js';

/** What Socket.IO answers a connect to a namespace it does not have; `/` gets the same. */
const INVALID_NAMESPACE = 'Invalid namespace';

/**
 * An Engine.IO connection is only a way into the served namespace, where the limits and
 * the token are checked. Socket.IO always has the main namespace `/`, which runs none of
 * them: unless it is the one served (or the host app serves it), a connect to it is refused
 * like one to a namespace that does not exist. Every refused connect then closes its
 * connection, and every close the server makes lets go of the socket within the grace
 * period (connection-release.ts); the connect timeout (gateway-server-options.ts) ends a
 * connection that joins nothing, and the guard bounds how many an address may have waiting.
 */
export function guardNamespaceDoor(server: Server, served: string): void {
  server.engine.on('connection', atTheEngineDoor);
  if (served !== '/') server.of('/').use(refuseUnserved);
}

function atTheEngineDoor(conn: unknown): void {
  boundCloses(conn as ClosingConnection);
  endRefusedConnections(conn as EngineConnection);
}

function refuseUnserved(socket: Socket, next: (error?: Error) => void): void {
  // A gateway of the host app's own on `/` listens for its connections: then `/` is served.
  if (socket.nsp.listenerCount('connection') > 0) return next();
  next(new Error(INVALID_NAMESPACE));
}
