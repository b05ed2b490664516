import type { Logger } from '@nestjs/common';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { CountedLog } from '../metrics/counted-log.js';
import { RequestRefused, type RealtimeRequestHandler } from './realtime-request-handler.js';
import type { BackendAnswer, RelayedRequest, RequestTransport } from './request-transport.js';

/**
 * One method answered in process by a provider of the host app. Its refusal (`RequestRefused`)
 * reaches the client with its code; any other throw answers `INTERNAL` and is logged once per
 * kind, never crashing the gateway.
 */
export class ProviderRequestTransport implements RequestTransport {
  private readonly problems: CountedLog;

  constructor(
    private readonly handler: RealtimeRequestHandler,
    private readonly method: string,
    logger: Logger,
  ) {
    this.problems = new CountedLog(logger);
  }

  async send(request: RelayedRequest): Promise<BackendAnswer> {
    try {
      return { ok: true, result: (await this.handler.handle(request)) ?? null };
    } catch (error) {
      if (error instanceof RequestRefused)
        return { ok: false, error: { code: error.code, message: error.message } };
      const name = error instanceof Error ? error.name : typeof error;
      this.problems.record(name, () => {
        const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
        return `The handler of ${this.method} failed: ${detail}`;
      });
      return { ok: false, error: { code: RealtimeErrorCode.Internal, message: 'internal error' } };
    }
  }
}
