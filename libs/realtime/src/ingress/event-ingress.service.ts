import { Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { RejectedEventLog, type Ingress } from '../metrics/rejected-event-log.js';
import {
  checkIngressMessage,
  isViolation,
  notJson,
  type CheckedMessage,
  type IngressViolation,
} from './ingress-message.js';

export type IngressOutcome = { ok: true } | { ok: false; violation: IngressViolation };

/**
 * The way in for events from outside the process (Kafka, HTTP, or a host's own bridge):
 * check against the catalogue, then emit on the same EventEmitter2 the host's services
 * use, so every event takes one path to clients. Refusals are counted per ingress.
 */
@Injectable()
export class EventIngress {
  /** The ingress of the event being emitted right now (emit is synchronous); else undefined. */
  current: Ingress | undefined;

  constructor(
    @Inject(EventEmitter2) private readonly emitter: EventEmitter2,
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RejectedEventLog) private readonly rejected: RejectedEventLog,
    @Inject(RealtimeCatalogue) private readonly catalogue: RealtimeCatalogue,
  ) {}

  /** Checks and emits one message; by the time this returns, it was handed to delivery. */
  accept(ingress: Ingress, message: unknown): IngressOutcome {
    const checked = checkIngressMessage(message, this.catalogue, this.settings);
    if (isViolation(checked)) return this.refuse(ingress, checked);
    this.emit(checked, ingress);
    return { ok: true };
  }

  /** Parses a raw JSON message first; anything that is not JSON is refused. */
  acceptJson(ingress: Ingress, raw: string): IngressOutcome {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      return this.refuse(ingress, notJson());
    }
    return this.accept(ingress, message);
  }

  /**
   * All or nothing: emits every message in order when all pass, none otherwise, and
   * returns each refusal with its index.
   */
  acceptBatch(
    ingress: Ingress,
    messages: readonly unknown[],
  ): Array<{ index: number; violation: IngressViolation }> {
    const checked = messages.map((message) =>
      checkIngressMessage(message, this.catalogue, this.settings),
    );
    const refused: Array<{ index: number; violation: IngressViolation }> = [];
    checked.forEach((result, index) => {
      if (isViolation(result)) {
        this.refuse(ingress, result);
        refused.push({ index, violation: result });
      }
    });
    if (refused.length === 0)
      for (const result of checked) this.emit(result as CheckedMessage, ingress);
    return refused;
  }

  private emit({ definition, data }: CheckedMessage, ingress: Ingress): void {
    this.current = ingress;
    try {
      this.emitter.emit(definition.event, data);
    } finally {
      this.current = undefined;
    }
  }

  private refuse(ingress: Ingress, violation: IngressViolation): IngressOutcome {
    this.rejected.refuse(ingress, violation.event ?? '(no event)', violation);
    return { ok: false, violation };
  }
}
