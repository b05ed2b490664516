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
import { RealtimeEvent } from '../events/event-catalogue.js';
import { checkEventPayload } from '../events/event-validator.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';
import { TICKER_ALL_ROOM, batchedRoom, eventRoom } from '../events/rooms.js';
import { AppWebSocketGateway } from '../gateway/app-websocket.gateway.js';
import { SubscriberFeeds } from '../feeds/subscriber-feeds.service.js';
import { MarketState } from '../market/market-state.service.js';
import { CountedLog } from '../metrics/counted-log.js';
import { RejectedEventLog } from '../metrics/rejected-event-log.js';
import type { StreamDelivery } from '../recovery/redis-room-streams.js';
import { RoomStreams } from '../recovery/room-streams.service.js';
import { roomEnvelope } from './envelope.js';
import { localRoom } from './local-room.js';
import { MessageBatcher } from './message-batcher.js';
import { TickerConflator } from './ticker-conflator.js';

type Payload = Record<string, unknown>;

/**
 * Listens on EventEmitter2 for every event of the merged catalogue (built-in, the host's,
 * the operator's), whichever ingress emitted it, and delivers it to its room: validate,
 * position it in the room's stream (RoomStreams: clustered, every instance gets it from
 * there in the same order), update the market state, wrap in the envelope, emit once. Listeners are
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
  private readonly orderBookUpdate: CatalogueEvent;

  constructor(
    @Inject(AppWebSocketGateway) private readonly gateway: AppWebSocketGateway,
    @Inject(RoomStreams) private readonly streams: RoomStreams,
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(RejectedEventLog) private readonly rejected: RejectedEventLog,
    @Inject(MarketState) private readonly market: MarketState,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
    @Inject(EventIngress) private readonly ingress: EventIngress,
    @Inject(ClusterBus) private readonly bus: ClusterBus,
    @Inject(MessageBatcher) private readonly batcher: MessageBatcher,
    @Inject(RealtimeCatalogue) private readonly catalogue: RealtimeCatalogue,
    @Inject(EventEmitter2) private readonly emitter: EventEmitter2,
    @Inject(SubscriberFeeds) private readonly feeds: SubscriberFeeds,
  ) {
    this.tickerUpdate = catalogue.definition(RealtimeEvent.TickerUpdate)!;
    this.tickersUpdate = catalogue.definition(RealtimeEvent.TickersUpdate)!;
    this.orderBookUpdate = catalogue.definition(RealtimeEvent.OrderBookUpdate)!;
    if (settings.tickerConflationMs > 0) {
      this.tickerConflator = new TickerConflator(settings.tickerConflationMs, (ticker) =>
        this.streams.append(this.tickerUpdate, eventRoom(this.tickerUpdate, ticker), ticker),
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
      if (digest) this.streams.append(this.tickersUpdate, TICKER_ALL_ROOM, digest);
    }, this.settings.allTickersIntervalMs);
    this.allTickersTimer.unref();
  }

  onApplicationBootstrap(): void {
    const server = this.gateway.server;
    if (!server) return;
    this.streams.attach(server, this.deliver);
    this.bus.attach(server, () => this.gateway.localStats());
  }

  onModuleDestroy(): void {
    for (const [event, listener] of this.listeners.splice(0)) this.emitter.off(event, listener);
    clearInterval(this.allTickersTimer);
    this.tickerConflator?.dispose();
  }

  /** An event from this process's emitter, whichever ingress emitted it. */
  handleCatalogueEvent(definition: CatalogueEvent, payload: unknown): void {
    const ingress = this.ingress.current;
    try {
      // EventIngress checked what it emits; the host's own emits are checked here.
      this.accept(definition, payload, ingress ?? 'emitter', ingress !== undefined);
    } catch (error) {
      // A fault of ours must not reach the emitter's caller (a host service, the consumer).
      this.recordFailure(definition, error);
    }
  }

  /**
   * Takes one event into its room's stream, which positions it and hands it to `deliver`
   * here (and, clustered, on every instance); false when it was refused (counted and
   * logged once per kind).
   */
  accept(
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
    const data = payload as Payload;
    // Clustered, an update still in flight may make it stale later: the market state then
    // holds it back at delivery (its offset is skipped, as for a hole).
    if (definition === this.orderBookUpdate && this.market.staleOrderBookUpdate(data)) {
      this.metrics.drop('orderbook-stale');
      return true;
    }
    if (
      definition === this.tickerUpdate &&
      this.tickerConflator &&
      !this.tickerConflator.offer(data.symbol as string, data)
    ) {
      this.metrics.drop('conflated');
      return true;
    }
    this.streams.append(definition, eventRoom(definition, data), data);
    return true;
  }

  /**
   * One positioned message, on this instance: update the market state (which decides which
   * order-book events go out), wrap it in the envelope, emit it once to the room's members.
   */
  private readonly deliver: StreamDelivery = (
    definition,
    room,
    payload,
    offset,
    epoch,
    ts,
    remote,
  ) => {
    try {
      if (remote) this.metrics.eventIn('cluster', definition.event);
      let data = payload;
      if (definition.routing === 'symbol' || definition.routing === 'symbolKey') {
        const admitted = this.market.admit(definition, data);
        if (admitted === null) return;
        data = admitted;
      } else if (definition.routing === 'everyone') {
        this.metrics.messageOut(definition.channel);
        this.gateway.server.local.emit(
          definition.event,
          roomEnvelope(definition, data, offset, epoch, ts),
        );
        return;
      }
      const rooms = this.gateway.server.adapter.rooms;
      const batched = batchedRoom(room);
      const toRoom = rooms.has(room);
      const toBatched = rooms.has(batched);
      const toFeeds = this.feeds.follows(room);
      if (!toRoom && !toBatched && !toFeeds) return;
      this.metrics.delivered(data.timestamp, Date.now());
      const message = roomEnvelope(definition, data, offset, epoch, ts);
      const skippable = definition.conflatable === true;
      if (toRoom || toBatched) this.metrics.messageOut(definition.channel);
      if (toBatched) this.batcher.add(batched, message, skippable);
      if (toRoom) localRoom(this.gateway.server, room, skippable).emit(definition.event, message);
      if (toFeeds) this.feeds.take(room, definition, data, message);
    } catch (error) {
      this.recordFailure(definition, error);
    }
  };

  private recordFailure(definition: CatalogueEvent, error: unknown): void {
    this.metrics.drop('delivery_failed');
    this.failures.record(definition.event, () => {
      const reason = error instanceof Error ? error.message : String(error);
      return `Could not deliver ${definition.event}: ${reason}`;
    });
  }
}
