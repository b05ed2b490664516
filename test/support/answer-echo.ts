/** Subscription fields a refusal echoes: the gateway's built-in ones and the test catalogues' keys. */
const ECHOED_FIELDS = ['channel', 'symbol', 'interval', 'chain'];
const MAX_ECHOED_CHARACTERS = 64;

/**
 * What a refused command's answer should echo of the payload it sent: each subscription
 * field sent as a string, as sent, its first 64 characters and `...` when longer.
 */
export function echoOf(payload: unknown): Record<string, string> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return {};
  const echo: Record<string, string> = {};
  for (const field of ECHOED_FIELDS) {
    const value = Object.hasOwn(payload, field)
      ? (payload as Record<string, unknown>)[field]
      : undefined;
    if (typeof value !== 'string') continue;
    const characters = [...value];
    echo[field] =
      characters.length > MAX_ECHOED_CHARACTERS
        ? characters.slice(0, MAX_ECHOED_CHARACTERS).join('') + '...'
        : value;
  }
  return echo;
}
