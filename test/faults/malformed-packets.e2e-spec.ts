import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppWebSocketGateway } from '#realtime/internal';
import { GatewayHarness } from '../support/gateway-harness.js';
import { RawEngineIo } from '../support/raw-engine-io.js';

/*
 * socket.io-parser reads an ack id's digits with Number(): 400 of them came back as the ack
 * `43/ws,Infinity[...]`, and 17 as an id the client never sent. An ack id must be a safe
 * integer; an event with any other is refused like any other bad value a client sends: it
 * is dropped, the client gets an `error` event saying why, and the connection stays open.
 */
describe('ack ids past what JavaScript counts exactly', () => {
  let gateway: GatewayHarness;
  let raw: RawEngineIo;

  beforeAll(async () => {
    gateway = await GatewayHarness.start({ limits: { messageRate: 1000, messageBurst: 1000 } });
    raw = new RawEngineIo(gateway.url);
    await raw.opened;
    raw.send('40/ws,');
    expect(await raw.waitFor((frame) => frame.startsWith('42/ws,["connected"'), 5000)).toBe(
      'matched',
    );
  });
  afterAll(async () => {
    raw.terminate();
    await gateway.stop();
  });

  /** Sends one packet (and its attachments), then a ping: what came back before the pong. */
  async function answersTo(packet: string, ...attachments: Buffer[]): Promise<string[]> {
    const from = raw.texts().length;
    raw.send(packet);
    for (const attachment of attachments) raw.send(attachment);
    // A ping with an ack behind it: everything the packet caused arrives before its answer.
    const probe = `43/ws,${from + 1000}[`;
    raw.send(`42/ws,${from + 1000}["ping"]`);
    expect(await raw.waitFor((frame) => frame.startsWith(probe), 5000)).toBe('matched');
    return raw
      .texts()
      .slice(from)
      .filter((frame) => !frame.startsWith(probe) && frame !== '2');
  }

  const refusal = (command: string) =>
    '42/ws,["error",' +
    JSON.stringify({
      ok: false,
      command,
      error: {
        code: 'INVALID_PAYLOAD',
        message: 'ack id must be an integer below 2^53; the message was dropped',
      },
    }) +
    ']';

  it.each([
    ['400 digits', '9'.repeat(400)],
    ['2^53, the first integer a double cannot tell from its neighbour', String(2 ** 53)],
    ['20 digits', '99999999999999999999'],
  ])('refuses an event with an ack id of %s, never answering it', async (_, id) => {
    expect(await answersTo(`42/ws,${id}["ping"]`)).toEqual([refusal('ping')]);
    // Nothing is done for a refused command: the subscription is not made.
    expect(
      await answersTo(`42/ws,${id}["subscribe",{"channel":"trades","symbol":"ACKUSDT"}]`),
    ).toEqual([refusal('subscribe')]);
    const namespace = gateway.app.get(AppWebSocketGateway).server;
    expect(namespace.adapter.rooms.has('trades:ACKUSDT')).toBe(false);
    // The same id on a binary event, once its attachment arrived; an unknown event too.
    const binary = `451-/ws,${id}["ping",{"_placeholder":true,"num":0}]`;
    expect(await answersTo(binary, Buffer.from([1, 2, 3]))).toEqual([refusal('ping')]);
    expect(await answersTo(`42/ws,${id}["nope"]`)).toEqual([refusal('nope')]);

    // The largest safe id is answered exactly, on either kind of packet.
    const largest = String(Number.MAX_SAFE_INTEGER);
    const [ack] = await answersTo(`42/ws,${largest}["ping"]`);
    expect(ack).toMatch(new RegExp(`^43/ws,${largest}\\[\\{"ok":true,`));
    const safeBinary = `451-/ws,${largest}["ping",{"_placeholder":true,"num":0}]`;
    const [binaryAck] = await answersTo(safeBinary, Buffer.from([1]));
    expect(binaryAck).toMatch(new RegExp(`^43/ws,${largest}\\[`));
    expect(raw.isOpen).toBe(true);
  });
});
