import { Injectable } from '@nestjs/common';
import type { RealtimeRequestHandler } from '#realtime';

/** What `market.time` answers. */
export interface ServerTimeAnswer {
  /** The demo's clock, ms since the epoch. */
  serverTime: number;
}

/**
 * The `market.time` request's backend: the server's clock, as exchanges serve it. The page
 * times its round trip over the live connection (gateway, relay, backend and back) as its
 * latency reading.
 */
@Injectable()
export class ServerTime implements RealtimeRequestHandler {
  handle(): ServerTimeAnswer {
    return { serverTime: Date.now() };
  }
}
