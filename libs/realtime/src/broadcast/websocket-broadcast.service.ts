import { Inject, Injectable } from '@nestjs/common';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { ALL_SYMBOLS, type KlineInterval } from '../events/channels.js';
import { EVENT_CATALOGUE, type EventDefinition } from '../events/event-catalogue.js';
import { checkEventPayload } from '../events/event-validator.js';
import { TICKER_ALL_ROOM, marketRoom, userRoom } from '../events/rooms.js';
import { AppWebSocketGateway } from '../gateway/app-websocket.gateway.js';
import { RejectedEventLog } from '../metrics/rejected-event-log.js';
import type { Envelope } from './envelope.js';
import { OnCatalogueEvents, type CatalogueEventHandler } from './on-catalogue-events.decorator.js';
import { RoomSequencer } from './room-sequencer.js';

/** The sequence key of events that go to every connection. */
const EVERYONE = '*';

/**
 * Listens on EventEmitter2 for every catalogue event, whichever ingress emitted it, and
 * delivers it to its room: validate, derive the room, wrap in the envelope, emit once.
 */
@Injectable()
@OnCatalogueEvents(EVENT_CATALOGUE.values())
export class WebSocketBroadcastService implements CatalogueEventHandler {
  constructor(
    @Inject(AppWebSocketGateway) private readonly gateway: AppWebSocketGateway,
    @Inject(RoomSequencer) private readonly sequencer: RoomSequencer,
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RejectedEventLog) private readonly rejected: RejectedEventLog,
  ) {}

  handleCatalogueEvent(definition: EventDefinition, payload: unknown): void {
    this.deliver(definition, payload);
  }

  /** Delivers one event; false when it was refused (counted and logged once per kind). */
  deliver(definition: EventDefinition, payload: unknown): boolean {
    const violation = checkEventPayload(definition, payload, this.settings);
    if (violation) {
      this.rejected.refuse('emitter', definition.event, violation);
      return false;
    }
    const data = payload as Record<string, unknown>;
    const server = this.gateway.server;
    let room: string;
    let symbol: string | undefined;
    let interval: KlineInterval | undefined;
    switch (definition.routing) {
      case 'symbol':
        symbol = data.symbol as string;
        room = marketRoom(definition.channel, symbol);
        break;
      case 'symbolInterval':
        symbol = data.symbol as string;
        interval = data.interval as KlineInterval;
        room = marketRoom(definition.channel, symbol, interval);
        break;
      case 'allSymbols':
        symbol = ALL_SYMBOLS;
        room = TICKER_ALL_ROOM;
        break;
      case 'user':
        room = userRoom(String(data.userId), definition.channel);
        break;
      case 'everyone':
        server.emit(
          definition.event,
          this.envelope(definition, EVERYONE, undefined, undefined, data),
        );
        return true;
    }
    // Nobody here listens: no envelope, and no sequence count to keep for the room.
    if (!server.adapter.rooms.has(room)) return true;
    server.to(room).emit(definition.event, this.envelope(definition, room, symbol, interval, data));
    return true;
  }

  private envelope(
    definition: EventDefinition,
    room: string,
    symbol: string | undefined,
    interval: KlineInterval | undefined,
    data: Record<string, unknown>,
  ): Envelope {
    return {
      channel: definition.channel,
      event: definition.event,
      symbol,
      interval,
      seq: this.sequencer.next(room),
      ts: Date.now(),
      data,
    } as Envelope;
  }
}
