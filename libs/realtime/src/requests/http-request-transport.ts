import { readReply } from './kafka-request-record.js';
import {
  BackendUnavailable,
  type BackendAnswer,
  type RelayedRequest,
  type RequestTransport,
} from './request-transport.js';

/** The header that tells the backend the call is the gateway's. */
export const REQUEST_SECRET_HEADER = 'X-Realtime-Secret';
/** The most of a backend's answer the gateway reads; past it the request is UNAVAILABLE. */
export const MAX_HTTP_ANSWER_BYTES = 1024 * 1024;

/**
 * One method's backend over HTTP: a `POST` of the RelayedRequest as JSON, answered `200` with
 * `{ ok: true, result }` or `{ ok: false, error: { code, message } }` (the Kafka reply's
 * shape). Anything else (a refused connection, another status, a body that is not such an
 * answer or longer than 1 MiB) makes the request UNAVAILABLE. Never retried: the backend
 * may have acted on a call whose answer was lost.
 */
export class HttpRequestTransport implements RequestTransport {
  constructor(
    private readonly url: string,
    private readonly secret: string,
  ) {}

  async send(request: RelayedRequest, signal: AbortSignal): Promise<BackendAnswer> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [REQUEST_SECRET_HEADER]: this.secret },
        body: JSON.stringify(request),
        signal,
        redirect: 'error',
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new BackendUnavailable(`POST ${this.url} failed: ${causeOf(error)}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new BackendUnavailable(`POST ${this.url} answered HTTP ${response.status}`);
    }
    const body = await readBounded(response, signal);
    const read = readReply(body);
    if ('malformed' in read)
      throw new BackendUnavailable(`POST ${this.url} answered no reply: ${read.malformed}`);
    return read.answer;
  }
}

async function readBounded(response: Response, signal: AbortSignal): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > MAX_HTTP_ANSWER_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new BackendUnavailable(
      `the backend's answer is larger than ${MAX_HTTP_ANSWER_BYTES} bytes`,
    );
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body ?? []) {
      length += chunk.byteLength;
      if (length > MAX_HTTP_ANSWER_BYTES) {
        await response.body?.cancel().catch(() => undefined);
        throw new BackendUnavailable(
          `the backend's answer is larger than ${MAX_HTTP_ANSWER_BYTES} bytes`,
        );
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof BackendUnavailable) throw error;
    if (signal.aborted) throw signal.reason;
    throw new BackendUnavailable(`reading the backend's answer failed: ${causeOf(error)}`);
  }
  return Buffer.concat(chunks);
}

/** fetch's own message is "fetch failed"; the reason is its cause's. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
