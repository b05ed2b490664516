import { describe, expect, it } from '@jest/globals';
import { Decoder, type Packet } from 'socket.io-parser';
import { PacketDecoder, REFUSED_PACKET, commandOf } from './packet-decoder.js';

function decode(...parts: Array<string | Buffer>): Packet[] {
  const decoder = new PacketDecoder();
  const packets: Packet[] = [];
  decoder.on('decoded', (packet: Packet) => packets.push(packet));
  for (const part of parts) decoder.add(part);
  return packets;
}

const refused = (command: string) => [
  REFUSED_PACKET,
  { command, message: 'ack id must be an integer below 2^53; the message was dropped' },
];

describe('PacketDecoder', () => {
  it('turns an event whose ack id is not a safe integer into a refused one, without the id', () => {
    for (const id of ['9'.repeat(400), String(2 ** 53), '99999999999999999999']) {
      const [packet] = decode(`2/ws,${id}["subscribe",{"channel":"trades"}]`);
      expect(packet).toEqual({ type: 2, nsp: '/ws', data: refused('subscribe') });
      const [binary] = decode(
        `51-/ws,${id}["ping",{"_placeholder":true,"num":0}]`,
        Buffer.from([1]),
      );
      expect(binary).toEqual({ type: 2, nsp: '/ws', data: refused('ping') });
      expect(decode(`2/ws,${id}[7]`)[0]!.data).toEqual(refused('7'));
    }
  });

  it('leaves safe ids, events without one and acks as Socket.IO decodes them', () => {
    const largest = Number.MAX_SAFE_INTEGER;
    expect(decode(`2/ws,${largest}["ping"]`)).toEqual([
      { type: 2, nsp: '/ws', id: largest, data: ['ping'] },
    ]);
    expect(decode('2/ws,["ping"]')).toEqual([{ type: 2, nsp: '/ws', data: ['ping'] }]);
    // An ack from the client answers an id the server chose; a wrong one matches nothing.
    expect(decode(`3/ws,${'9'.repeat(30)}[]`)[0]!.data).toEqual([]);
  });

  it('names the command of a refused event and of any other', () => {
    const [packet] = decode(`2/ws,${'9'.repeat(20)}["auth.refresh",{}]`);
    expect(commandOf(packet!.data[0], packet!.data[1])).toBe('auth.refresh');
    expect(commandOf('ping', undefined)).toBe('ping');
    expect(commandOf(42, undefined)).toBe('42');
  });

  it("shares one options object between decoders, equal to Socket.IO's own defaults", () => {
    const optionsOf = (decoder: Decoder): unknown => (decoder as unknown as { opts: unknown }).opts;
    const first = optionsOf(new PacketDecoder());
    expect(optionsOf(new PacketDecoder())).toBe(first);
    expect(first).toEqual(optionsOf(new Decoder()));
  });
});
