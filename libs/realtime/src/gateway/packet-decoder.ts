import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';

/**
 * The event a packet refused by the decoder arrives as, in place of its own: no handler
 * listens for it and no client can send it (event names on the wire are strings). Its one
 * argument is a `RefusedPacket`; the gateway answers it with an `error` event.
 */
export const REFUSED_PACKET = Symbol('realtime.refusedPacket');

/** Why a client's event was refused, and which event it was. */
export interface RefusedPacket {
  command: string;
  message: string;
}

const UNSAFE_ACK_ID = 'ack id must be an integer below 2^53; the message was dropped';

/**
 * Socket.IO's decoder, refusing an event whose ack id is not a safe integer. The parser
 * reads the id's digits with `Number()`: 400 of them became `Infinity`, 17 a neighbour of
 * the id sent, and the ack answered an id the client never used. The packet is well formed
 * but its id out of range, so it is refused like any other bad value a client sends:
 * dropped, with an `error` event (`INVALID_PAYLOAD`), the connection kept. An ack from the
 * client with such an id matches none the server asked for and is ignored by Socket.IO.
 */
export class PacketDecoder extends Decoder {
  constructor() {
    super();
    // One options object for every connection's decoder instead of a copy each (80 B a
    // connection); the decoder only reads it.
    (this as unknown as { opts: typeof DECODER_OPTIONS }).opts = DECODER_OPTIONS;
    // First listener, before Socket.IO's: the namespace gets the packet as refused.
    this.on('decoded', refuseUnsafeAckId);
  }
}

/** Socket.IO's decoder defaults (`new Decoder()` makes this object for each connection). */
const DECODER_OPTIONS = Object.freeze({ reviver: undefined, maxAttachments: 10 });

function refuseUnsafeAckId(packet: Packet): void {
  if (packet.id === undefined || Number.isSafeInteger(packet.id)) return;
  if (packet.type !== PacketType.EVENT) return;
  const refused: RefusedPacket = { command: String(packet.data[0]), message: UNSAFE_ACK_ID };
  packet.data = [REFUSED_PACKET, refused];
  delete packet.id;
}

/** The name of the command an inbound event carries, refused or not. */
export function commandOf(event: unknown, firstArgument: unknown): string {
  return event === REFUSED_PACKET ? (firstArgument as RefusedPacket).command : String(event);
}

/** The parser the gateway's Socket.IO server uses (its `parser` option). */
export const gatewayParser = { Encoder, Decoder: PacketDecoder };
