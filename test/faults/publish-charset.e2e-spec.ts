import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GatewayHarness, Recorder, command, roundTrip } from '../support/gateway-harness.js';

const KEY = 'charset-publish-key-0123456789';

let symbols = 0;
/** A symbol of its own per test: a new subscriber is sent the symbol's recent trades. */
const freshSymbol = () => `CHARSET${++symbols}USDT`;

const tradeJson = (symbol: string) =>
  JSON.stringify({ event: 'trade', data: { symbol, tradeId: 1, note: 'ünï€' } });
const utf8 = (text: string) => Buffer.from(text, 'utf8');
const utf16le = (text: string) =>
  Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

/**
 * The JSON parser decoded any `utf-*` charset, so a body declared UTF-16 was published, and a
 * non-JSON Content-Type got a 400 as if the JSON were wrong. Only UTF-8 JSON is taken now.
 */
describe('HTTP publish API: UTF-8 JSON only', () => {
  let gateway: GatewayHarness;

  beforeAll(async () => {
    gateway = await GatewayHarness.start(
      {},
      { publish: { apiKey: KEY, maxBodyBytes: 64 * 1024, maxBatch: 100 } },
    );
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const post = (body: Buffer, headers: Record<string, string>) =>
    fetch(`${gateway.url}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, ...headers },
      body: new Uint8Array(body),
    });

  /** Content-Types that are UTF-8 JSON, in the spellings a sender may use. */
  const accepted = [
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON; CHARSET=UTF-8',
    'application/json;charset="utf-8"',
    'Application/Json ; charset=Utf-8 ; version=1',
  ];

  /** A subscriber to a fresh symbol's trades, and that symbol. */
  const subscriber = async () => {
    const symbol = freshSymbol();
    const socket = await gateway.connect();
    const recorder = new Recorder(socket, ['trade']);
    await command(socket, 'subscribe', { channel: 'trades', symbol });
    return { socket, recorder, symbol };
  };

  it.each([
    ['application/json; charset=utf-16', utf16le, 'charset "utf-16" is not accepted'],
    ['application/json; charset=UTF-16LE', utf16le, 'charset "UTF-16LE" is not accepted'],
    ['application/json;charset="utf-16"', utf16le, 'charset "utf-16" is not accepted'],
    ['application/json; charset=utf-32', utf8, 'charset "utf-32" is not accepted'],
    ['application/json; charset=koi8-r', utf8, 'charset "koi8-r" is not accepted'],
    ['application/json; charset=iso-8859-1', utf8, 'charset "iso-8859-1" is not accepted'],
    ['application/json; charset=utf8', utf8, 'charset "utf8" is not accepted'],
    ['application/json; charset', utf8, 'charset "" is not accepted'],
    ['text/plain', utf8, 'Content-Type "text/plain" is not accepted'],
    ['application/x-www-form-urlencoded', utf8, 'is not accepted'],
    ['application/vnd.api+json', utf8, 'is not accepted'],
    ['text/json; charset=utf-8', utf8, 'Content-Type "text/json" is not accepted'],
  ])(
    'refuses %s with 415, and publishes the same event sent as UTF-8 JSON',
    async (contentType, encode, reason) => {
      const { socket, recorder, symbol } = await subscriber();
      const response = await post(encode(tradeJson(symbol)), { 'content-type': contentType });
      expect(response.status).toBe(415);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: expect.stringContaining(reason),
      });
      await roundTrip(socket);
      expect(recorder.events).toEqual([]);

      const utf8Json = accepted[symbols % accepted.length];
      const retried = await post(utf8(tradeJson(symbol)), { 'content-type': utf8Json });
      expect([utf8Json, retried.status, await retried.json()]).toEqual([
        utf8Json,
        202,
        { accepted: 1 },
      ]);
      const [delivered] = await recorder.waitFor('trade');
      expect(delivered.data).toEqual({ symbol, tradeId: 1, note: 'ünï€' });
    },
  );

  it('answers 415 to a body without a Content-Type', async () => {
    const response = await post(utf8(tradeJson(freshSymbol())), {});
    expect(response.status).toBe(415);
    expect(((await response.json()) as { message: string }).message).toBe(
      'the body must be UTF-8 JSON: send Content-Type: application/json',
    );
  });

  it('quotes a long Content-Type back cut short', async () => {
    const response = await post(utf8(tradeJson(freshSymbol())), {
      'content-type': `text/${'x'.repeat(5000)}`,
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { message: string }).message.length).toBeLessThan(200);
  });
});
