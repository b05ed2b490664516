import type { IncomingMessage } from 'node:http';

/** The most of a sender's Content-Type a refusal quotes back. */
const QUOTED_LIMIT = 64;

const quote = (value: string) =>
  JSON.stringify(value.length > QUOTED_LIMIT ? `${value.slice(0, QUOTED_LIMIT)}...` : value);

const unquote = (value: string) =>
  value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;

/**
 * Why a Content-Type is not UTF-8 JSON, or undefined when it is: `application/json` with no
 * charset or `charset=utf-8`, case-insensitive. JSON between systems must be UTF-8 (RFC 8259,
 * 8.1); a body declared in another charset is refused, not decoded into something else.
 */
export function nonUtf8JsonReason(contentType: string | undefined): string | undefined {
  if (contentType === undefined || contentType.trim() === '') {
    return 'the body must be UTF-8 JSON: send Content-Type: application/json';
  }
  const [mediaType, ...parameters] = contentType.split(';');
  if (mediaType.trim().toLowerCase() !== 'application/json') {
    return `Content-Type ${quote(mediaType.trim())} is not accepted: the body must be UTF-8 JSON (application/json)`;
  }
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=');
    const name = (equals < 0 ? parameter : parameter.slice(0, equals)).trim().toLowerCase();
    if (name !== 'charset') continue;
    const charset = equals < 0 ? '' : unquote(parameter.slice(equals + 1).trim());
    if (charset.toLowerCase() !== 'utf-8') {
      return `charset ${quote(charset)} is not accepted: the body must be UTF-8 JSON (application/json; charset=utf-8)`;
    }
  }
  return undefined;
}

/**
 * The JSON body parser's test of which bodies to read: only UTF-8 JSON. Any other body is
 * left unread, so the publish API can refuse it with 415 instead of the parser decoding it.
 */
export function isUtf8Json(request: IncomingMessage): boolean {
  return nonUtf8JsonReason(request.headers['content-type']) === undefined;
}
