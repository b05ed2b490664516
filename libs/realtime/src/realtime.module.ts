import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ConnectionAuthenticator } from './auth/connection-authenticator.js';
import { SessionLifetime } from './auth/session-lifetime.service.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { MessageBatcher } from './broadcast/message-batcher.js';
import { SubscriberFeeds } from './feeds/subscriber-feeds.service.js';
import { WebSocketBroadcastService } from './broadcast/websocket-broadcast.service.js';
import { RealtimeSettings } from './config/realtime-settings.js';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RealtimeCatalogue } from './events/realtime-catalogue.js';
import { RealtimeEmitter } from './events/realtime-emitter.js';
import { AppWebSocketGateway } from './gateway/app-websocket.gateway.js';
import { RealtimeExceptionFilter } from './gateway/realtime-exception.filter.js';
import { SubscriptionParser } from './gateway/subscription-parser.js';
import { EventIngress } from './ingress/event-ingress.service.js';
import { JsonEndpoint } from './json-endpoint/json-endpoint.service.js';
import { MarketState } from './market/market-state.service.js';
import { ClusterBus } from './cluster/cluster-bus.js';
import { RoomStreams } from './recovery/room-streams.service.js';
import { ConnectionDrain } from './lifecycle/connection-drain.service.js';
import { RequestRelay } from './requests/request-relay.service.js';
import { DeadManSwitch } from './session/dead-man-switch.service.js';
import { ReadinessRegistry } from './lifecycle/readiness-check.js';
import { RealtimeHealthIndicator } from './lifecycle/realtime-health.indicator.js';
import { RealtimeMetrics } from './metrics/realtime-metrics.js';
import { ConnectionGuard } from './limits/connection-guard.service.js';
import { AuthFailureLog } from './metrics/auth-failure-log.js';
import { RejectedEventLog } from './metrics/rejected-event-log.js';
import {
  REALTIME_MODULE_OPTIONS,
  RealtimeConfigurableModule,
  type RealtimeModuleOptions,
} from './realtime.module-definition.js';

/**
 * Pushes domain events emitted on the app's EventEmitter2 to subscribed Socket.IO clients.
 * The app must import `EventEmitterModule.forRoot()` itself: the module listens on that emitter.
 */
@Module({
  providers: [
    {
      provide: RealtimeSettings,
      useFactory: (options: RealtimeModuleOptions) => new RealtimeSettings(options),
      inject: [REALTIME_MODULE_OPTIONS],
    },
    {
      provide: RealtimeCatalogue,
      useFactory: (options: RealtimeModuleOptions) => new RealtimeCatalogue(options.events),
      inject: [REALTIME_MODULE_OPTIONS],
    },
    {
      provide: RealtimeEmitter,
      useFactory: (emitter: EventEmitter2) => new RealtimeEmitter(emitter),
      inject: [EventEmitter2],
    },
    RealtimeMetrics,
    ClusterBus,
    ReadinessRegistry,
    RealtimeHealthIndicator,
    ConnectionDrain,
    ConnectionGuard,
    RoomStreams,
    MessageBatcher,
    SubscriberFeeds,
    MarketState,
    RejectedEventLog,
    AuthFailureLog,
    TokenVerifier,
    ConnectionAuthenticator,
    SessionLifetime,
    SubscriptionParser,
    RealtimeExceptionFilter,
    AppWebSocketGateway,
    WebSocketBroadcastService,
    EventIngress,
    DeadManSwitch,
    RequestRelay,
    JsonEndpoint,
  ],
  exports: [
    RealtimeEmitter,
    RealtimeHealthIndicator,
    RoomStreams,
    RealtimeCatalogue,
    ConnectionGuard,
    AppWebSocketGateway,
    RealtimeMetrics,
    ClusterBus,
    ReadinessRegistry,
    ConnectionDrain,
    MarketState,
    EventIngress,
    DeadManSwitch,
    RequestRelay,
    RealtimeSettings,
    RejectedEventLog,
    AuthFailureLog,
    TokenVerifier,
    SessionLifetime,
    WebSocketBroadcastService,
    JsonEndpoint,
  ],
})
export class RealtimeModule extends RealtimeConfigurableModule {}
