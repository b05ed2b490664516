import { describe, expect, it } from '@jest/globals';
import { Encoder, PacketType } from 'socket.io-parser';
import {
  answerType,
  eventFrame,
  isRefused,
  readClientFrame,
  splitPacket,
  unknownType,
} from './json-frames.js';

const encoder = new Encoder();
const encoded = (packet: Parameters<Encoder['encode']>[0]) => encoder.encode(packet)[0] as string;

describe('json-frames', () => {
  it("turns Socket.IO's encoded event into a frame around the same payload text", () => {
    const payload = {
      channel: 'trades',
      offset: 3,
      data: { price: '1.5', note: 'a "quoted", [x]' },
    };
    for (const nsp of ['/ws', '/']) {
      const { kind, ackId, body } = splitPacket(
        encoded({ type: PacketType.EVENT, nsp, data: ['trade', payload] }),
      );
      expect([kind, ackId]).toEqual([0x32, undefined]);
      const frame = JSON.parse(eventFrame(body));
      expect(frame).toEqual({ type: 'trade', timestamp: expect.any(Number), data: payload });
    }
    const bare = splitPacket(encoded({ type: PacketType.EVENT, nsp: '/ws', data: ['tick'] }));
    expect(JSON.parse(eventFrame(bare.body)).data).toBeNull();
  });

  it('reads the ack id and body of an answer, and names the answer by its command', () => {
    const { kind, ackId, body } = splitPacket(
      encoded({ type: PacketType.ACK, nsp: '/ws', id: 1234, data: [{ ok: true, channel: 'x' }] }),
    );
    expect([kind, ackId, body]).toEqual([0x33, 1234, '[{"ok":true,"channel":"x"}]']);
    expect(answerType('subscribe', '{"ok":true}')).toBe('subscribed');
    expect(answerType('subscribe.private', '{"ok":true}')).toBe('subscribed');
    expect(answerType('ping', '{"ok":true}')).toBe('pong');
    expect(answerType('subscribe', '{"ok":false,"command":"subscribe"}')).toBe('error');
  });

  it('reads client frames and says what is wrong with a bad one', () => {
    expect(readClientFrame('{"id":1,"type":"ping"}')).toEqual({
      id: 1,
      type: 'ping',
      data: undefined,
    });
    expect(readClientFrame('{"id":"a","type":"subscribe","data":{"channel":"trades"}}')).toEqual({
      id: 'a',
      type: 'subscribe',
      data: { channel: 'trades' },
    });
    const cases: Array<[string, RegExp]> = [
      ['nope', /not JSON/],
      ['null', /JSON object/],
      ['[]', /JSON object/],
      ['{"type":"ping","id":1.5}', /id must be/],
      ['{"type":"ping","id":9007199254740993}', /id must be/],
      [`{"type":"ping","id":"${'x'.repeat(65)}"}`, /id must be/],
      ['{"id":1}', /type must be/],
      [`{"type":"${'t'.repeat(65)}"}`, /type must be/],
      ['{"type":"disconnect"}', /unknown type/],
      ['{"type":"newListener"}', /unknown type/],
    ];
    for (const [text, message] of cases) {
      const frame = readClientFrame(text);
      expect(isRefused(frame) && frame.message).toMatch(message);
    }
    expect(unknownType()).toMatch(/subscribe, unsubscribe, subscribe\.private/);
  });
});
