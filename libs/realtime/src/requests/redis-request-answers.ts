import { Logger } from '@nestjs/common';
import { CountedLog } from '../metrics/counted-log.js';
import {
  waitUntilPolled,
  type RequestAnswers,
  type RequestClaim,
  type RequestOutcome,
} from './request-answers.js';
import type { BackendAnswer } from './request-transport.js';

/** The part of a node-redis client the answers use. */
export interface AnswersRedisClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** How often a duplicate looks for the outcome of a request another instance holds. */
const POLL_MS = 50;
const PENDING = 'pending';

/**
 * Answers shared by every instance, so a client that retries on another instance after a
 * reconnect gets the first answer too. The first request sets its key (`SET NX PX`) to
 * `pending`, then to the backend's answer for the window; a failure deletes it. A duplicate
 * elsewhere reads the key until the answer is there or its own deadline passes.
 *
 * While Redis cannot be reached a request is relayed without the cluster-wide check (the
 * instance's own answers still apply): clients keep being served, and a retry that lands on
 * another instance during the outage may reach the backend twice with the same requestId.
 */
export class RedisRequestAnswers implements RequestAnswers {
  private readonly problems = new CountedLog(new Logger('RequestAnswers'));

  constructor(
    private readonly client: AnswersRedisClient,
    private readonly prefix: string,
    private readonly windowMs: number,
  ) {}

  async claim(key: string, deadline: number): Promise<RequestClaim> {
    const redisKey = this.prefix + key;
    try {
      for (;;) {
        const set = await this.client.sendCommand([
          'SET',
          redisKey,
          PENDING,
          'NX',
          'PX',
          String(this.windowMs),
        ]);
        if (set === 'OK') return { claimed: true };
        const outcome = await waitUntilPolled(() => this.read(redisKey), deadline, POLL_MS);
        // Freed by a failure of the first: this request may go to the backend itself.
        if (outcome !== undefined) return { claimed: false, outcome };
      }
    } catch (error) {
      this.problems.record('claim', () => {
        return `Redis could not check a request's id (${String(error)}): relayed without the cluster-wide check`;
      });
      return { claimed: true };
    }
  }

  settle(key: string, outcome: RequestOutcome): void {
    const redisKey = this.prefix + key;
    const command =
      'answered' in outcome
        ? ['SET', redisKey, JSON.stringify(outcome.answered), 'PX', String(this.windowMs)]
        : ['DEL', redisKey];
    this.client.sendCommand(command).catch((error: unknown) => {
      this.problems.record('settle', () => {
        return `Redis could not keep a request's answer (${String(error)}): a retry elsewhere may reach the backend again`;
      });
    });
  }

  /** The outcome under the key; null while pending; undefined when the key is gone. */
  private async read(redisKey: string): Promise<RequestOutcome | null | undefined> {
    const value = await this.client.sendCommand(['GET', redisKey]);
    if (value === null || value === undefined) return undefined;
    const text = String(value);
    if (text === PENDING) return null;
    try {
      return { answered: JSON.parse(text) as BackendAnswer };
    } catch {
      return undefined;
    }
  }
}
