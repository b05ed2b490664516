import WebSocket from 'ws';

/** One frame of the plain-WebSocket JSON protocol, as received. */
export interface JsonFrame {
  id?: string | number;
  type: string;
  timestamp: number;
  data: any;
}

/**
 * A real `ws` client of the gateway's plain-WebSocket JSON endpoint: records every frame in
 * order and waits for the ones a test expects.
 */
export class JsonClient {
  readonly frames: JsonFrame[] = [];
  private readonly waiters: Array<() => void> = [];
  private nextId = 1;
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as JsonFrame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Opens a connection to `{gateway}/ws/json` with the query and headers given. */
  static async open(
    baseUrl: string,
    options: {
      query?: Record<string, string>;
      headers?: Record<string, string>;
      path?: string;
      /** false: the client does not answer pings (a dead peer). */
      autoPong?: boolean;
    } = {},
  ): Promise<JsonClient> {
    const url = new URL(options.path ?? '/ws/json', baseUrl.replace(/^http/, 'ws'));
    for (const [name, value] of Object.entries(options.query ?? {}))
      url.searchParams.set(name, value);
    const ws = new WebSocket(url, { headers: options.headers, autoPong: options.autoPong ?? true });
    const client = new JsonClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Opens a connection and waits for `connected` (a token at the door, or none and a first frame). */
  static async connected(
    baseUrl: string,
    options: Parameters<typeof JsonClient.open>[1] = {},
  ): Promise<JsonClient> {
    const client = await JsonClient.open(baseUrl, options);
    await client.next('connected');
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a command with a fresh id and resolves with the frame that answers it. */
  async command(type: string, data?: unknown): Promise<JsonFrame> {
    const id = `c${this.nextId++}`;
    this.send(data === undefined ? { id, type } : { id, type, data });
    return this.waitFor((frame) => frame.id === id);
  }

  /** The first frame of `type` not yet taken by `next`, waiting for it. */
  async next(type: string, timeoutMs = 5000): Promise<JsonFrame> {
    const frame = await this.waitFor((candidate) => candidate.type === type, timeoutMs);
    this.frames.splice(this.frames.indexOf(frame), 1);
    return frame;
  }

  /** Frames of `type` received so far. */
  all(type: string): JsonFrame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  /** Waits until `count` frames of `type` arrived. */
  async waitForCount(type: string, count: number, timeoutMs = 5000): Promise<JsonFrame[]> {
    await this.until(() => this.all(type).length >= count, timeoutMs, `${count} ${type}`);
    return this.all(type);
  }

  async waitFor(match: (frame: JsonFrame) => boolean, timeoutMs = 5000): Promise<JsonFrame> {
    let found: JsonFrame | undefined;
    await this.until(() => (found = this.frames.find(match)) !== undefined, timeoutMs, 'a frame');
    return found!;
  }

  /** Resolves with the close code once the server closed the connection. */
  async closed(timeoutMs = 5000): Promise<number> {
    await this.until(() => this.closeCode !== undefined, timeoutMs, 'the close');
    return this.closeCode!;
  }

  close(): void {
    this.ws.close();
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.frames.map((frame) => frame.type).join(', ');
        throw new Error(`timed out waiting for ${what}; frames: [${seen}]`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
