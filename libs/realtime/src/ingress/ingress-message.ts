import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { describeValue } from '../errors/describe-value.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import type { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { checkEventPayload } from '../events/event-validator.js';
import {
  isPlainObject,
  type PayloadViolation,
  type ValidationContext,
} from '../events/payload-schema.js';

/** What every ingress receives: `{ "event": "order.filled", "data": { ... } }`. */
export interface IngressMessage {
  event: string;
  data: unknown;
}

/** An ingress message that passed the catalogue, ready to emit. */
export interface CheckedMessage {
  readonly definition: CatalogueEvent;
  readonly data: unknown;
}

/** A refused ingress message; `event` is set when the message named a catalogue event. */
export interface IngressViolation extends PayloadViolation {
  readonly event?: string;
}

/** The violation for a message that is not JSON at all. */
export function notJson(): IngressViolation {
  return {
    code: RealtimeErrorCode.InvalidPayload,
    field: 'message',
    message: 'message is not valid JSON',
  };
}

/**
 * Checks the ingress shape and the payload against the catalogue. Fields beside `event`
 * and `data` are ignored, so producers may add their own metadata.
 */
export function checkIngressMessage(
  message: unknown,
  catalogue: RealtimeCatalogue,
  context: ValidationContext,
): CheckedMessage | IngressViolation {
  if (!isPlainObject(message)) {
    return shape('message', `must be an object { event, data }, got ${describeValue(message)}`);
  }
  const { event, data } = message;
  if (typeof event !== 'string')
    return shape('event', `must be a string, got ${describeValue(event)}`);
  const definition = catalogue.definition(event);
  if (!definition)
    return shape('event', `${describeValue(event)} is not an event of the catalogue`);
  if (definition.builtByGateway) {
    return shape(
      'event',
      `${describeValue(event)} is built by the gateway; publish its parts instead`,
    );
  }
  const violation = checkEventPayload(definition, data, context);
  return violation ? { ...violation, event } : { definition, data };
}

export function isViolation(result: CheckedMessage | IngressViolation): result is IngressViolation {
  return 'code' in result;
}

function shape(field: string, problem: string): IngressViolation {
  return { code: RealtimeErrorCode.InvalidPayload, field, message: `${field} ${problem}` };
}
