import { RealtimeErrorCode } from '../errors/index.js';
import type { PayloadViolation } from './payload-schema.js';

/** How large and how deep an event's `data` may be, at every ingress. */
export interface PayloadBounds {
  /** Deepest nesting of objects and arrays; `data` itself is level 1. */
  readonly maxDepth: number;
  /** Largest size of `data` as JSON, counted approximately (strings by their length). */
  readonly maxBytes: number;
}

/*
 * Fields the catalogue does not name pass through to clients, so their shape is the
 * publisher's. Socket.IO's hasBinary, JSON.stringify and msgpack all recurse: a few
 * thousand levels of nesting overflow the stack wherever the event is encoded (a timer, the
 * cluster flush), long after its ingress said yes. So the bound is checked first, without
 * recursion, and stops at the first level or byte over it. The work stack is reused.
 */
const values: unknown[] = [];
const depths: number[] = [];

/** Why `payload` is beyond `bounds` or cannot be sent as JSON, or null. */
export function checkPayloadBounds(
  payload: unknown,
  bounds: PayloadBounds,
): PayloadViolation | null {
  const { maxDepth, maxBytes } = bounds;
  let bytes = 0;
  let problem: string | null = null;
  values.length = 0;
  depths.length = 0;
  values.push(payload);
  depths.push(1);
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    switch (typeof value) {
      case 'string':
        bytes += value.length + 3;
        break;
      case 'number':
        bytes += 8;
        break;
      case 'boolean':
      case 'undefined':
        bytes += 6;
        break;
      case 'bigint':
      case 'symbol':
      case 'function':
        problem = `holds a ${typeof value}, which JSON cannot carry`;
        break;
      case 'object':
        if (value === null) {
          bytes += 5;
          break;
        }
        if (depth > maxDepth) {
          problem = `nests objects and arrays deeper than ${maxDepth} levels`;
          break;
        }
        if (Array.isArray(value)) {
          bytes += 2 + value.length;
          if (bytes > maxBytes) break;
          for (let i = 0; i < value.length; i++) {
            values.push(value[i]);
            depths.push(depth + 1);
          }
        } else {
          bytes += 2;
          const keys = Object.keys(value);
          for (let i = 0; i < keys.length && bytes <= maxBytes; i++) {
            const key = keys[i]!;
            bytes += key.length + 4;
            values.push((value as Record<string, unknown>)[key]);
            depths.push(depth + 1);
          }
        }
        break;
    }
    if (problem === null && bytes > maxBytes) problem = `is larger than ${maxBytes} bytes as JSON`;
    if (problem !== null) {
      values.length = 0;
      depths.length = 0;
      return { code: RealtimeErrorCode.InvalidPayload, field: 'data', message: `data ${problem}` };
    }
  }
  return null;
}
