import { RealtimeErrorCode, describeValue } from '../errors/index.js';
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
    validatePayload(definition.schema, payload, context) ??
    keyProblem(definition, payload as Record<string, unknown>);
  if (violation || !definition.refine) return violation;
  const problem = definition.refine(payload as Record<string, unknown>);
  return problem
    ? { code: RealtimeErrorCode.InvalidPayload, field: 'data', message: problem }
    : null;
}

/** A keyed event's key must be one its channel lists, as a subscriber's must. */
function keyProblem(
  definition: CatalogueEvent,
  payload: Record<string, unknown>,
): PayloadViolation | null {
  const values = definition.key?.values;
  if (!values) return null;
  const { field, invalidCode = RealtimeErrorCode.InvalidPayload } = definition.key!;
  const value = payload[field];
  return values.includes(value as string)
    ? null
    : {
        code: invalidCode,
        field: `data.${field}`,
        message: `data.${field} must be one of ${values.join(', ')}, got ${describeValue(value)}`,
      };
}
