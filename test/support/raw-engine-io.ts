import { WebSocket, type RawData } from 'ws';

/** What a raw connection ended with. */
export interface RawClose {
  code: number;
  reason: string;
}

export type WaitOutcome = 'matched' | 'closed' | 'timeout';

/**
 * A raw Engine.IO v4 client over WebSocket, for sending what no Socket.IO client would:
 * every frame goes out exactly as given. It only answers the server's heartbeat (`2` with
 * `3`) so that a slow test does not time out, and records every frame it receives.
 */
export class RawEngineIo {
  /** Every frame received, text as string, binary as Buffer, in order. */
  readonly received: Array<string | Buffer> = [];
  /** The open packet's JSON (`0{...}`), or null when the connection closed before it. */
  readonly opened: Promise<Record<string, unknown> | null>;
  /** Resolves once the connection closed, whoever closed it. */
  readonly closed: Promise<RawClose>;
  closeInfo: RawClose | undefined;

  private readonly ws: WebSocket;
  private readonly waiters = new Set<() => void>();

  constructor(httpUrl: string, query = '', headers: Record<string, string> = {}) {
    const url = `${httpUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket${query}`;
    this.ws = new WebSocket(url, { perMessageDeflate: false, headers });
    // A refused upgrade or a reset surfaces as `error`, always followed by `close`.
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      const frame = isBinary ? toBuffer(data) : toBuffer(data).toString('utf8');
      this.received.push(frame);
      if (frame === '2') this.send('3');
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        this.wake();
        resolve(this.closeInfo);
      });
    });
    this.opened = this.firstText((frame) => frame.startsWith('0')).then((frame) => {
      if (frame === null) return null;
      try {
        return JSON.parse(frame.slice(1)) as Record<string, unknown>;
      } catch {
        return { unparsable: frame };
      }
    });
  }

  /** Whether frames can still be sent. */
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Text frames received, in order. */
  texts(): string[] {
    return this.received.filter((frame): frame is string => typeof frame === 'string');
  }

  /**
   * Sends one frame as is: a string as a text frame, a Buffer as a binary frame unless
   * `binary: false` (then as a text frame, whatever its bytes). `fin: false` leaves the
   * message open for the next send. False when the connection is no longer open.
   */
  send(data: string | Buffer, options: { binary?: boolean; fin?: boolean } = {}): boolean {
    if (!this.isOpen) return false;
    this.ws.send(data, {
      binary: options.binary ?? typeof data !== 'string',
      fin: options.fin ?? true,
      compress: false,
    });
    return true;
  }

  /** Sends one message split into `parts` WebSocket fragments. */
  sendFragmented(data: string | Buffer, parts: number, binary = typeof data !== 'string'): boolean {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const size = Math.max(1, Math.ceil(bytes.length / parts));
    for (let start = 0; start < bytes.length || start === 0; start += size) {
      const end = Math.min(bytes.length, start + size);
      if (!this.send(bytes.subarray(start, end), { binary, fin: end >= bytes.length })) {
        return false;
      }
      if (end >= bytes.length) break;
    }
    return true;
  }

  /** Waits for a received text frame matching `predicate` (earlier ones count too). */
  async waitFor(predicate: (frame: string) => boolean, timeoutMs: number): Promise<WaitOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.texts().some(predicate)) return 'matched';
      if (this.closeInfo) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await this.nextEvent(left);
    }
  }

  /** Closes with the WebSocket closing handshake. */
  close(): void {
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close();
  }

  /** Drops the TCP connection without any goodbye. */
  terminate(): void {
    this.ws.terminate();
  }

  private async firstText(predicate: (frame: string) => boolean): Promise<string | null> {
    for (;;) {
      const frame = this.texts().find(predicate);
      if (frame !== undefined) return frame;
      if (this.closeInfo) return null;
      await this.nextEvent(Infinity);
    }
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(done, timeoutMs) : undefined;
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
