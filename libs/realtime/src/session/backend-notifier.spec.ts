import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../../../test/support/processes.js';
import { BackendNotifier, type DeliveryOutcome } from './backend-notifier.js';

const notice = { userId: 'u1', reason: 'transport close', lastConnectionId: 'c1', at: 5 };
const SECRET = 'a-secret-of-16-chars';

describe('BackendNotifier', () => {
  let server: Server;
  let url: string;
  const calls: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let answers: number[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        calls.push({ headers: request.headers, body });
        response.writeHead(answers.shift() ?? 204).end('ignored');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cod`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function notifier(target: string, retries: number) {
    const outcomes: DeliveryOutcome[] = [];
    const sender = new BackendNotifier({
      url: target,
      secret: SECRET,
      retries,
      retryDelayMs: 5,
      timeoutMs: 2000,
      counted: (outcome) => outcomes.push(outcome),
    });
    return { sender, outcomes };
  }

  it('POSTs the notice as JSON with the secret header', async () => {
    calls.length = 0;
    const { sender, outcomes } = notifier(url, 3);
    sender.send(notice);
    await sender.settled(5000);
    expect(outcomes).toEqual(['delivered']);
    expect(JSON.parse(calls[0]!.body)).toEqual(notice);
    expect(calls[0]!.headers['x-realtime-secret']).toBe(SECRET);
    expect(calls[0]!.headers['content-type']).toBe('application/json');
  });

  it('retries 5xx and 429 until delivered, and fails at once on another 4xx', async () => {
    calls.length = 0;
    answers = [503, 429, 204];
    const flaky = notifier(url, 3);
    flaky.sender.send(notice);
    await flaky.sender.settled(5000);
    expect(flaky.outcomes).toEqual(['retried', 'retried', 'delivered']);

    answers = [401];
    const refused = notifier(url, 3);
    refused.sender.send(notice);
    await refused.sender.settled(5000);
    expect(refused.outcomes).toEqual(['failed']);
    expect(refused.sender.failureCounts().get('status 401')).toBe(1);
  });

  it('gives up after the retries when nobody listens, and never rejects', async () => {
    const { sender, outcomes } = notifier(`http://127.0.0.1:${await freePort()}/cod`, 2);
    sender.send(notice);
    await sender.settled(5000);
    expect(outcomes).toEqual(['retried', 'retried', 'failed']);
    expect(sender.pending).toBe(0);
  });

  it('stops waiting to retry when stopped', async () => {
    calls.length = 0;
    answers = [503];
    const sender = new BackendNotifier({
      url,
      secret: SECRET,
      retries: 5,
      retryDelayMs: 60_000,
      timeoutMs: 2000,
      counted: () => undefined,
    });
    sender.send(notice);
    while (calls.length === 0 || sender.pending === 0) await new Promise((r) => setTimeout(r, 5));
    sender.stop();
    await sender.settled(5000);
    expect(sender.pending).toBe(0);
  });
});
