import { Module, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { RealtimeModule } from '#realtime';
import type { GatewayConfig } from './config/gateway-config.js';
import { HealthController } from './health/health.controller.js';
import { ReadinessChecks, type ReadinessCheck } from './health/readiness-check.js';
import { KafkaIngressModule } from './kafka/kafka-ingress.module.js';
import { KafkaIngressServer } from './kafka/kafka-ingress.server.js';
import { PublishApiModule } from './publish/publish-api.module.js';

@Module({})
export class GatewayAppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayAppModule,
      imports: [
        EventEmitterModule.forRoot(),
        RealtimeModule.forRoot({ ...config.realtime, isGlobal: true }),
        ...(config.kafka ? [KafkaIngressModule.forRoot(config.kafka)] : []),
        ...(config.publish ? [PublishApiModule.forRoot(config.publish)] : []),
      ],
      controllers: [HealthController],
      providers: [
        {
          provide: ReadinessChecks,
          useFactory: (...checks: Array<ReadinessCheck | undefined>) =>
            checks.filter((check) => check !== undefined),
          inject: [{ token: KafkaIngressServer, optional: true }],
        },
      ],
    };
  }
}
