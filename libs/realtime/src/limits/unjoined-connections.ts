/** Where an Engine.IO connection that has not joined the namespace keeps its address. */
const WAITING_FROM = Symbol('realtime.waitingFrom');

/** The parts of an Engine.IO connection the count touches. */
export interface UnjoinedConnection {
  [WAITING_FROM]?: string;
  on(event: 'close', listener: (this: UnjoinedConnection) => void): unknown;
}

/**
 * Engine.IO connections that have not joined the served namespace yet, per client address,
 * on this instance. The namespace's limits cannot count them (its middlewares run on the
 * join), and each lives up to the connect timeout: an address may have only `max` of them
 * at once, so opening connections and joining nothing holds no more than that.
 */
export class UnjoinedConnections {
  private readonly byAddress = new Map<string, number>();
  /** One listener for every connection's close, whatever came first. */
  private readonly closed: (this: UnjoinedConnection) => void;

  /** `max` 0: no bound, and nothing is counted. */
  constructor(private readonly max: number) {
    this.closed = closeListener(this);
  }

  /** Whether a new connection from `address` fits. */
  admits(address: string): boolean {
    return this.max <= 0 || (this.byAddress.get(address) ?? 0) < this.max;
  }

  opened(conn: UnjoinedConnection, address: string): void {
    if (this.max <= 0) return;
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    conn[WAITING_FROM] = address;
    conn.on('close', this.closed);
  }

  /** The connection joined the namespace or closed; counted once either way. */
  joined(conn: UnjoinedConnection): void {
    const address = conn[WAITING_FROM];
    if (address === undefined) return;
    conn[WAITING_FROM] = undefined;
    const left = (this.byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(address, left);
    else this.byAddress.delete(address);
  }

  /** Connections from `address` waiting to join (for tests and operators). */
  waiting(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }
}

/** The close listener a count shares among its connections (`this` is the connection). */
function closeListener(count: UnjoinedConnections): (this: UnjoinedConnection) => void {
  return function (this: UnjoinedConnection) {
    count.joined(this);
  };
}
