import { RealtimeErrorCode } from '../errors/index.js';
import type { CatalogueEvent } from './catalogue-event.js';
import { checkPayloadBounds } from './payload-bounds.js';
import {
  validatePayload,
  type PayloadViolation,
  type ValidationContext,
} from './payload-schema.js';

/** Why `payload` cannot be delivered as `definition`'s event, or null when it can. */
export function checkEventPayload(
  definition: CatalogueEvent,
  payload: unknown,
  context: ValidationContext,
): PayloadViolation | null {
  const violation =
    checkPayloadBounds(payload, context.payloadBounds) ??
    validatePayload(definition.schema, payload, context);
  if (violation || !definition.refine) return violation;
  const problem = definition.refine(payload as Record<string, unknown>);
  return problem
    ? { code: RealtimeErrorCode.InvalidPayload, field: 'data', message: problem }
    : null;
}
