import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the backend got: its headers and its JSON body. */
export interface BackendCall {
  readonly headers: IncomingHttpHeaders;
  readonly body: any;
}

/** What the backend does with a call: the status and body it answers, after a delay. */
export interface BackendAnswerPlan {
  status?: number;
  body?: unknown;
  /** Sent as it is, instead of `body` as JSON. */
  raw?: string;
  delayMs?: number;
}

/**
 * A real HTTP backend on a loopback port: records every call and answers with what `plan`
 * returns for it. It can be stopped and started again on the same port.
 */
export class HttpBackend {
  readonly calls: BackendCall[] = [];
  plan: (call: BackendCall) => BackendAnswerPlan = (call) => ({
    body: { ok: true, result: { echo: call.body.params } },
  });
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/rpc`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const call = {
          headers: request.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        };
        this.calls.push(call);
        const { status = 200, body, raw, delayMs = 0 } = this.plan(call);
        setTimeout(() => {
          if (response.destroyed) return;
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(raw ?? JSON.stringify(body));
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
