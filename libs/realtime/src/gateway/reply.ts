import type { Socket } from 'socket.io';

export type Ack = (response: unknown) => void;

/**
 * Answers a client command: through its ack callback when it sent one, otherwise as the
 * named event. Either way the body is the same.
 */
export function reply(client: Socket, ack: Ack | undefined, event: string, body: unknown): void {
  if (typeof ack === 'function') ack(body);
  else client.emit(event, body);
}
