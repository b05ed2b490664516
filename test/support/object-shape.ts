import { setFlagsFromString } from 'node:v8';

// V8's own answer, through its natives syntax (enabled here, for this process only).
setFlagsFromString('--allow-natives-syntax');
const fastProperties = new Function('object', 'return %HasFastProperties(object)') as (
  object: object,
) => boolean;

/**
 * Whether V8 keeps `object`'s properties in fast mode (a shape shared by objects alike)
 * rather than in a per-object dictionary: what listener compaction is for.
 */
export function hasFastProperties(object: object): boolean {
  return fastProperties(object);
}
