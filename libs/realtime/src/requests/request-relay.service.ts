import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { RealtimeException } from '../errors/realtime.exception.js';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import { checkPayloadBounds } from '../events/payload-bounds.js';
import { validatePayload } from '../events/payload-schema.js';
import { ClientEvent, ServerEvent } from '../events/protocol-events.js';
import type { ConnectionData } from '../gateway/connection-data.js';
import { reply, type Ack } from '../gateway/reply.js';
import { newMessageBudget, spendMessage, type MessageBudget } from '../limits/message-rate.js';
import { CountedLog } from '../metrics/counted-log.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import {
  REALTIME_MODULE_OPTIONS,
  type RealtimeModuleOptions,
} from '../realtime.module-definition.js';
import { HttpRequestTransport } from './http-request-transport.js';
import type { KafkaRequests } from './kafka-requests.js';
import { ProviderRequestTransport } from './provider-request-transport.js';
import { RedisRequestAnswers, type AnswersRedisClient } from './redis-request-answers.js';
import {
  MemoryRequestAnswers,
  type RequestAnswers,
  type RequestOutcome,
} from './request-answers.js';
import { echoRequest, readRequestCommand, type RequestEcho } from './request-command.js';
import {
  resolveRequests,
  type ResolvedMethod,
  type ResolvedRequests,
} from './realtime-requests-options.js';
import type { RealtimeRequestHandler } from './realtime-request-handler.js';
import {
  BackendUnavailable,
  type BackendAnswer,
  type RelayedRequest,
  type RequestTransport,
} from './request-transport.js';

/** Requests of one connection waiting for their backends at once; past it: RATE_LIMITED. */
export const MAX_REQUESTS_PER_CONNECTION = 16;
/** Requests of this instance waiting at once; past it: UNAVAILABLE. */
export const MAX_REQUESTS_IN_FLIGHT = 10_000;
/** Most rate budgets kept (one per user and method); idle ones are swept. */
const MAX_BUDGETS = 100_000;
const BUDGET_SWEEP_MS = 10_000;
/** A backend's own error code: what clients can switch on. */
const BACKEND_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const MAX_MESSAGE_LENGTH = 1024;
/** The label of every method that is not declared, so a stranger cannot grow the metrics. */
const UNKNOWN_METHOD_LABEL = 'unknown';

/**
 * The `request` command: reads and checks a client's request, limits it (rate per user and
 * method, requests waiting per connection and per instance), answers a repeated `requestId`
 * with the first answer, relays the rest to the method's backend with the verified user, and
 * answers the one connection that asked, within the method's timeout. A slow backend holds
 * nothing but its own request: the command returns at once and its answer comes when ready.
 */
@Injectable()
export class RequestRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RequestRelay');
  private readonly problems = new CountedLog(this.logger);
  readonly requests: ResolvedRequests;
  private readonly transports = new Map<string, RequestTransport>();
  private readonly localAnswers: MemoryRequestAnswers;
  private sharedAnswers: RequestAnswers | undefined;
  private kafka: KafkaRequests | undefined;
  private readonly budgets = new Map<string, MessageBudget>();
  private readonly sweepTimer: NodeJS.Timeout;
  private inFlight = 0;

  constructor(
    @Inject(REALTIME_MODULE_OPTIONS) options: RealtimeModuleOptions,
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.requests = resolveRequests(options.requests);
    this.localAnswers = new MemoryRequestAnswers(this.requests.idempotencyWindowMs);
    this.sweepTimer = setInterval(() => this.sweepBudgets(), BUDGET_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Shares answers across instances (the Redis adapter calls this with its publisher). */
  useRedis(client: AnswersRedisClient): void {
    if (this.requests.methods.size === 0 || this.requests.idempotencyWindowMs === 0) return;
    this.sharedAnswers = new RedisRequestAnswers(
      client,
      // One hash tag for every key, should the Redis be a Redis Cluster.
      `{realtime:${this.settings.namespace}:requests}:`,
      this.requests.idempotencyWindowMs,
    );
  }

  /** Requests waiting for their backends on this instance. */
  get waiting(): number {
    return this.inFlight;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { methods, httpSecret, kafka } = this.requests;
    if (methods.size === 0) return;
    if (kafka !== undefined) {
      // kafkajs is loaded only by an app that declares a Kafka method.
      const { KafkaRequests } = await import('./kafka-requests.js').catch((error: unknown) => {
        throw new RealtimeOptionsError(
          'requests.kafka',
          `needs the kafkajs package installed (${String(error)})`,
        );
      });
      this.kafka = await KafkaRequests.start({
        brokers: [...kafka.brokers],
        clientId: kafka.clientId,
        replyTopic: kafka.replyTopic,
        instanceId: this.settings.instanceId,
      });
    }
    let index = 0;
    for (const method of methods.values()) {
      const { backend } = method;
      if (backend.kind === 'http')
        this.transports.set(method.method, new HttpRequestTransport(backend.url, httpSecret!));
      else if (backend.kind === 'kafka')
        this.transports.set(method.method, this.kafka!.transport(backend.topic));
      else
        this.transports.set(
          method.method,
          new ProviderRequestTransport(this.handlerOf(method, index), method.method, this.logger),
        );
      index += 1;
    }
    this.logger.log(
      `Requests: ${[...methods.values()].map((m) => `${m.method} (${m.backend.kind})`).join(', ')}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.kafka?.close();
  }

  /** Answers one `request` command; returns at once, the answer comes when the backend's does. */
  handle(client: Socket, body: unknown, ack: Ack | undefined): void {
    let method: ResolvedMethod;
    let request: RelayedRequest;
    let key: string | undefined;
    let caller: string;
    try {
      const command = readRequestCommand(body);
      method = this.methodOf(command.method);
      const data = client.data as ConnectionData;
      const userId = data.userId;
      if (userId === null && method.userRequired)
        throw new RealtimeException(
          RealtimeErrorCode.AuthRequired,
          `${method.method} needs a signed-in connection`,
        );
      this.checkParams(method, command.params);
      caller = userId ?? `#${client.id}`;
      if ((data.requestsWaiting ?? 0) >= MAX_REQUESTS_PER_CONNECTION)
        throw new RealtimeException(
          RealtimeErrorCode.RateLimited,
          `at most ${MAX_REQUESTS_PER_CONNECTION} requests may wait for an answer per connection`,
        );
      if (this.inFlight >= MAX_REQUESTS_IN_FLIGHT)
        throw new RealtimeException(
          RealtimeErrorCode.Unavailable,
          'the gateway has too many requests waiting for backends; try again shortly',
        );
      const requestId = command.requestId ?? randomUUID();
      if (command.requestId !== undefined && this.requests.idempotencyWindowMs > 0)
        key = `${method.method}\n${caller}\n${requestId}`;
      request = {
        method: method.method,
        params: command.params,
        userId,
        requestId,
        connectionId: client.id,
        instanceId: this.settings.instanceId,
        deadline: Date.now() + method.timeoutMs,
      };
    } catch (error) {
      const echo = echoRequest(body);
      const label =
        echo.method !== undefined && this.requests.methods.has(echo.method)
          ? echo.method
          : UNKNOWN_METHOD_LABEL;
      if (error instanceof RealtimeException) {
        this.metrics.request(label, error.code);
        this.answerFailure(client, ack, echo, error.code, error.message);
        return;
      }
      throw error;
    }
    this.enter(client);
    void this.relay(method, request, caller, key).then(
      (outcome) => {
        this.leave(client);
        this.answer(client, ack, request, outcome);
      },
      // relay never rejects; this is the last guard of the process.
      (error: unknown) => {
        this.leave(client);
        this.problems.record('relay', () => `A request failed unexpectedly: ${String(error)}`);
        this.answerFailure(client, ack, request, RealtimeErrorCode.Internal, 'internal error');
      },
    );
  }

  private methodOf(name: string): ResolvedMethod {
    const method = this.requests.methods.get(name);
    if (method !== undefined) return method;
    const declared = [...this.requests.methods.keys()];
    throw new RealtimeException(
      RealtimeErrorCode.UnknownMethod,
      declared.length === 0
        ? 'this gateway serves no request methods'
        : `unknown method; call one of: ${declared.join(', ')}`,
    );
  }

  private checkParams(method: ResolvedMethod, params: Readonly<Record<string, unknown>>): void {
    if ('userId' in params)
      throw new RealtimeException(
        RealtimeErrorCode.Forbidden,
        'params.userId cannot be sent: the backend gets the signed-in user of the connection',
      );
    const violation =
      checkPayloadBounds(params, this.settings.payloadBounds) ??
      validatePayload(method.params, params, this.settings);
    if (violation)
      throw new RealtimeException(violation.code, violation.message.replace(/^data/, 'params'));
  }

  private spend(method: ResolvedMethod, caller: string): void {
    const now = Date.now();
    const budgetKey = `${method.method}\n${caller}`;
    let budget = this.budgets.get(budgetKey);
    if (budget === undefined) {
      if (this.budgets.size >= MAX_BUDGETS) this.sweepBudgets();
      budget = newMessageBudget(method.burst, now);
      this.budgets.set(budgetKey, budget);
    }
    if (spendMessage(budget, method.perSecond, method.burst, Infinity, now) !== 'ok')
      throw new RealtimeException(
        RealtimeErrorCode.RateLimited,
        `${method.method} allows ${method.perSecond} calls per second (burst ${method.burst})`,
      );
  }

  /** Drops budgets that have refilled: a caller who comes back starts full, as they would. */
  private sweepBudgets(): void {
    const now = Date.now();
    for (const [key, budget] of this.budgets) {
      const method = this.requests.methods.get(key.slice(0, key.indexOf('\n')));
      if (!method) continue;
      const full = budget.tokens + ((now - budget.refilledAt) * method.perSecond) / 1000;
      if (full >= method.burst) this.budgets.delete(key);
    }
    // Every caller busy at once: the oldest budgets go, which only forgives their spending.
    for (const key of this.budgets.keys()) {
      if (this.budgets.size < MAX_BUDGETS) break;
      this.budgets.delete(key);
    }
  }

  private enter(client: Socket): void {
    const data = client.data as ConnectionData;
    data.requestsWaiting = (data.requestsWaiting ?? 0) + 1;
    this.inFlight += 1;
  }

  private leave(client: Socket): void {
    const data = client.data as ConnectionData;
    data.requestsWaiting = (data.requestsWaiting ?? 1) - 1;
    this.inFlight -= 1;
  }

  /**
   * The outcome of a request: remembered, shared with a duplicate in flight, or the backend's.
   * A repeat is answered before the method's rate is charged: a client retrying after a
   * reconnect gets its first answer even when it used up its rate meanwhile.
   */
  private async relay(
    method: ResolvedMethod,
    request: RelayedRequest,
    caller: string,
    key: string | undefined,
  ): Promise<RequestOutcome> {
    if (key === undefined) return this.rateRefusal(method, caller) ?? this.call(method, request);
    const local = await this.localAnswers.claimNow(key, request.deadline);
    if (!local.claimed) return local.outcome;
    let outcome: RequestOutcome;
    try {
      const shared = await this.sharedAnswers?.claim(key, request.deadline);
      if (shared !== undefined && !shared.claimed) {
        this.localAnswers.settle(key, shared.outcome);
        return shared.outcome;
      }
      outcome = this.rateRefusal(method, caller) ?? (await this.call(method, request));
    } catch (error) {
      outcome = { failed: { code: RealtimeErrorCode.Internal, message: 'internal error' } };
      this.problems.record('idempotency', () => `A request's id check failed: ${String(error)}`);
    }
    this.localAnswers.settle(key, outcome);
    this.sharedAnswers?.settle(key, outcome);
    return outcome;
  }

  /** RATE_LIMITED past the method's rate for this caller; a refusal frees the requestId. */
  private rateRefusal(method: ResolvedMethod, caller: string): RequestOutcome | undefined {
    try {
      this.spend(method, caller);
      return undefined;
    } catch (error) {
      const { code, message } = error as RealtimeException;
      return { failed: { code, message } };
    }
  }

  /** One call to the backend, bounded by the method's timeout; never rejects. */
  private async call(method: ResolvedMethod, request: RelayedRequest): Promise<RequestOutcome> {
    const started = performance.now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<RequestOutcome>((resolve) => {
      timer = setTimeout(() => {
        // Settled first: a transport that rejects with the abort's reason answers later.
        resolve(timedOutOutcome(method));
        controller.abort(new RequestTimedOut());
      }, method.timeoutMs);
    });
    const sent = this.transports
      .get(method.method)!
      .send(request, controller.signal)
      .then(
        (answer): RequestOutcome => ({ answered: checkedAnswer(answer) }),
        (error: unknown): RequestOutcome => this.failure(method, error),
      );
    const outcome = await Promise.race([sent, timedOut]);
    clearTimeout(timer);
    this.metrics.requestAnswered(method.method, (performance.now() - started) / 1000);
    return outcome;
  }

  private failure(method: ResolvedMethod, error: unknown): RequestOutcome {
    if (error instanceof RequestTimedOut) return timedOutOutcome(method);
    if (error instanceof BackendUnavailable) {
      this.problems.record(`unavailable ${method.method}`, () => {
        return `The backend of ${method.method} is unavailable: ${error.message}`;
      });
      return {
        failed: {
          code: RealtimeErrorCode.Unavailable,
          message: 'the backend could not be reached',
        },
      };
    }
    this.problems.record(`failed ${method.method}`, () => {
      return `Relaying ${method.method} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    });
    return { failed: { code: RealtimeErrorCode.Internal, message: 'internal error' } };
  }

  private answer(
    client: Socket,
    ack: Ack | undefined,
    request: RelayedRequest,
    outcome: RequestOutcome,
  ): void {
    const { method, requestId } = request;
    if ('answered' in outcome && outcome.answered.ok) {
      this.metrics.request(method, 'ok');
      if (client.connected)
        reply(client, ack, ServerEvent.Response, {
          ok: true,
          method,
          requestId,
          result: outcome.answered.result,
        });
      return;
    }
    const refused = 'answered' in outcome;
    const { code, message } = refusalOf(outcome);
    this.metrics.request(method, refused ? 'refused' : code);
    this.answerFailure(client, ack, request, code, message);
  }

  private answerFailure(
    client: Socket,
    ack: Ack | undefined,
    echo: RequestEcho,
    code: string,
    message: string,
  ): void {
    if (!client.connected) return;
    reply(client, ack, ServerEvent.Error, {
      ok: false,
      command: ClientEvent.Request,
      ...(echo.method === undefined ? {} : { method: echo.method }),
      ...(echo.requestId === undefined ? {} : { requestId: echo.requestId }),
      error: { code, message },
    });
  }

  private handlerOf(method: ResolvedMethod, index: number): RealtimeRequestHandler {
    const { provider } = method.backend as Extract<ResolvedMethod['backend'], { kind: 'provider' }>;
    let handler: unknown;
    try {
      handler = this.moduleRef.get(provider, { strict: false });
    } catch {
      handler = undefined;
    }
    if (typeof (handler as { handle?: unknown } | undefined)?.handle !== 'function')
      throw new RealtimeOptionsError(
        `requests.methods[${index}].backend.provider`,
        `${provider.name} is not a provider of the app with a handle(request) method: list it in a module's providers`,
      );
    return handler as RealtimeRequestHandler;
  }
}

function refusalOf(outcome: RequestOutcome): { code: string; message: string } {
  if ('failed' in outcome) return outcome.failed;
  return outcome.answered.ok
    ? { code: RealtimeErrorCode.Internal, message: 'internal error' }
    : outcome.answered.error;
}

function timedOutOutcome(method: ResolvedMethod): RequestOutcome {
  return {
    failed: {
      code: RealtimeErrorCode.Timeout,
      message: `the backend did not answer within ${method.timeoutMs} ms`,
    },
  };
}

/** The reason of a request's abort at its deadline. */
class RequestTimedOut extends Error {
  override readonly name = 'RequestTimedOut';
}

/** A backend's answer as clients may get it: its own code checked, its message bounded. */
function checkedAnswer(answer: BackendAnswer): BackendAnswer {
  if (answer.ok) return answer;
  const { code, message } = answer.error;
  if (typeof code !== 'string' || !BACKEND_CODE.test(code))
    return {
      ok: false,
      error: {
        code: RealtimeErrorCode.Internal,
        message: 'the backend refused with a code that is not 1-64 of A-Z 0-9 _',
      },
    };
  const text = typeof message === 'string' ? message : code;
  return text.length <= MAX_MESSAGE_LENGTH
    ? answer
    : { ok: false, error: { code, message: text.slice(0, MAX_MESSAGE_LENGTH) } };
}
