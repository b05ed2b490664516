import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './processes.js';

/**
 * A client's network: a TCP relay from a loopback port of its own to a gateway. Offline, it
 * cuts every connection it carries and refuses new ones, as a lost network would (Chromium's
 * offline emulation leaves open WebSockets alone); `target` may change meanwhile, so the
 * client comes back to another instance.
 */
export class ClientNetwork {
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  private offline = false;
  port = 0;

  constructor(public target: number) {
    this.server = createServer((client) => {
      if (this.offline) return void client.destroy();
      const upstream = connect(this.target, '127.0.0.1');
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.open.add(from);
        from.pipe(to);
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.open.delete(from);
          to.destroy();
        });
      }
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  goOffline(): void {
    this.offline = true;
    for (const socket of this.open) socket.destroy();
  }

  goOnline(): void {
    this.offline = false;
  }

  async stop(): Promise<void> {
    this.goOffline();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
