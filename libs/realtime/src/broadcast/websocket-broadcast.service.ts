import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { EventIngress } from '../ingress/event-ingress.service.js';
import { RealtimeMetrics, type IngressLabel } from '../metrics/realtime-metrics.js';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { ALL_SYMBOLS } from '../events/channels.js';
import { RealtimeEvent } from '../events/event-catalogue.js';
import { checkEventPayload } from '../events/event-validator.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { TICKER_ALL_ROOM, batchedRoom, marketRoom, userRoom } from '../events/rooms.js';
import { AppWebSocketGateway } from '../gateway/app-websocket.gateway.js';
import { MarketState } from '../market/market-state.service.js';
import { CountedLog } from '../metrics/counted-log.js';
import { RejectedEventLog } from '../metrics/rejected-event-log.js';
import { envelope } from './envelope.js';
import { localRoom } from './local-room.js';
import { MessageBatcher } from './message-batcher.js';
import { RoomSequencer } from './room-sequencer.js';
import { TickerConflator } from './ticker-conflator.js';

type Payload = Record<string, unknown>;

/** The sequence key of events that go to every connection. */
const EVERYONE = '*';

/**
 * Listens on EventEmitter2 for every event of the merged catalogue (built-in, the host's,
 * the operator's), whichever ingress emitted it, and delivers it to its room: validate,
 * update the market state, derive the room, wrap in the envelope, emit once. Listeners are
 * added per catalogue entry at start-up, each bound to its definition, so no lookup by name
 * happens per event and an added event needs no code here.
 */
@Injectable()
export class WebSocketBroadcastService
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy
{
  private readonly tickerConflator: TickerConflator<Payload> | undefined;
  private allTickersTimer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<[event: string, listener: (payload: unknown) => void]> = [];
  private readonly failures = new CountedLog(new Logger('Broadcast'));
  private readonly tickerUpdate: CatalogueEvent;
  private readonly tickersUpdate: CatalogueEvent;

  constructor(
    @Inject(AppWebSocketGateway) private readonly gateway: AppWebSocketGateway,
    @Inject(RoomSequencer) private readonly sequencer: RoomSequencer,
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RejectedEventLog) private readonly rejected: RejectedEventLog,
    @Inject(MarketState) private readonly market: MarketState,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
    @Inject(EventIngress) private readonly ingress: EventIngress,
    @Inject(ClusterBus) private readonly bus: ClusterBus,
    @Inject(MessageBatcher) private readonly batcher: MessageBatcher,
    @Inject(RealtimeCatalogue) private readonly catalogue: RealtimeCatalogue,
    @Inject(EventEmitter2) private readonly emitter: EventEmitter2,
  ) {
    this.tickerUpdate = catalogue.definition(RealtimeEvent.TickerUpdate)!;
    this.tickersUpdate = catalogue.definition(RealtimeEvent.TickersUpdate)!;
    if (settings.tickerConflationMs > 0) {
      this.tickerConflator = new TickerConflator(settings.tickerConflationMs, (ticker) =>
        this.send(this.tickerUpdate, ticker),
      );
    }
  }

  onModuleInit(): void {
    for (const definition of this.catalogue.events()) {
      if (definition.builtByGateway) continue;
      const listener = (payload: unknown) => this.handleCatalogueEvent(definition, payload);
      this.emitter.on(definition.event, listener);
      this.listeners.push([definition.event, listener]);
    }
    this.allTickersTimer = setInterval(() => {
      const digest = this.market.tickersDigest(Date.now());
      if (digest) this.send(this.tickersUpdate, digest);
    }, this.settings.allTickersIntervalMs);
    this.allTickersTimer.unref();
  }

  onApplicationBootstrap(): void {
    const server = this.gateway.server;
    if (server) this.bus.attach(server, this.onClusterEvent, () => this.gateway.localStats());
  }

  onModuleDestroy(): void {
    for (const [event, listener] of this.listeners.splice(0)) this.emitter.off(event, listener);
    clearInterval(this.allTickersTimer);
    this.tickerConflator?.dispose();
  }

  /** An event from this process's emitter: deliver here, then to the other instances. */
  handleCatalogueEvent(definition: CatalogueEvent, payload: unknown): void {
    const ingress = this.ingress.current;
    try {
      // EventIngress checked what it emits; the host's own emits are checked here.
      if (this.deliver(definition, payload, ingress ?? 'emitter', ingress !== undefined)) {
        this.bus.publish(definition.event, payload);
      }
    } catch (error) {
      // A fault of ours must not reach the emitter's caller (a host service, the consumer).
      this.metrics.drop('delivery_failed');
      this.failures.record(definition.event, () => {
        const reason = error instanceof Error ? error.message : String(error);
        return `Could not deliver ${definition.event}: ${reason}`;
      });
    }
  }

  /** An event another instance took in: deliver here only. */
  private readonly onClusterEvent = (event: string, payload: unknown): void => {
    const definition = this.catalogue.definition(event);
    if (definition && !definition.builtByGateway) this.deliver(definition, payload, 'cluster');
  };

  /** Delivers one event; false when it was refused (counted and logged once per kind). */
  deliver(
    definition: CatalogueEvent,
    payload: unknown,
    ingress: IngressLabel = 'emitter',
    checked = false,
  ): boolean {
    const violation = checked ? null : checkEventPayload(definition, payload, this.settings);
    if (violation) {
      this.rejected.refuse(ingress, definition.event, violation);
      return false;
    }
    this.metrics.eventIn(ingress, definition.event);
    let data = payload as Payload;
    if (definition.routing === 'symbol' || definition.routing === 'symbolKey') {
      const admitted = this.market.admit(definition, data);
      if (admitted === null) return true;
      data = admitted;
      if (
        definition === this.tickerUpdate &&
        this.tickerConflator &&
        !this.tickerConflator.offer(data.symbol as string, data)
      ) {
        this.metrics.drop('conflated');
        return true;
      }
    }
    this.send(definition, data);
    return true;
  }

  private send(definition: CatalogueEvent, data: Payload): void {
    const server = this.gateway.server;
    let room: string;
    let symbol: string | undefined;
    let key: string | undefined;
    switch (definition.routing) {
      case 'symbol':
        symbol = data.symbol as string;
        room = marketRoom(definition.channel, symbol);
        break;
      case 'symbolKey':
        symbol = data.symbol as string;
        key = String(data[definition.key!.field]);
        room = marketRoom(definition.channel, symbol, key);
        break;
      case 'allSymbols':
        symbol = ALL_SYMBOLS;
        room = TICKER_ALL_ROOM;
        break;
      case 'user':
        room = userRoom(String(data.userId), definition.channel);
        break;
      case 'everyone':
        this.metrics.messageOut(definition.channel);
        server.local.emit(
          definition.event,
          envelope(
            definition,
            undefined,
            undefined,
            this.sequencer.next(EVERYONE),
            Date.now(),
            data,
          ),
        );
        return;
    }
    const rooms = server.adapter.rooms;
    const batched = batchedRoom(room);
    const toRoom = rooms.has(room);
    const toBatched = rooms.has(batched);
    // Nobody here listens: no envelope, and no sequence count to keep for the room.
    if (!toRoom && !toBatched) return;
    this.metrics.messageOut(definition.channel);
    const now = Date.now();
    this.metrics.delivered(data.timestamp, now);
    const message = envelope(definition, symbol, key, this.sequencer.next(room), now, data);
    const skippable = definition.conflatable === true;
    if (toBatched) this.batcher.add(batched, message, skippable);
    if (toRoom) localRoom(server, room, skippable).emit(definition.event, message);
  }
}
