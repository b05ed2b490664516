const MAX_ECHO = 40;

/** A short, safe description of a bad input for an error message: never the whole value. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = value.length > MAX_ECHO ? value.slice(0, MAX_ECHO) + '...' : value;
    return JSON.stringify(shown) + (value.length > MAX_ECHO ? ` (${value.length} characters)` : '');
  }
  if (typeof value === 'object') return 'an object';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
