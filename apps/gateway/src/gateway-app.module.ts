import { Module, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { RealtimeModule } from '#realtime';
import { AdminModule } from './admin/admin.module.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { HealthController } from './health/health.controller.js';
import { KafkaIngressModule } from './kafka/kafka-ingress.module.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { PublishApiModule } from './publish/publish-api.module.js';

@Module({})
export class GatewayAppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayAppModule,
      imports: [
        EventEmitterModule.forRoot(),
        RealtimeModule.forRoot({ ...config.realtime, isGlobal: true }),
        AdminModule.forRoot(config.admin),
        ...(config.kafka ? [KafkaIngressModule.forRoot(config.kafka)] : []),
        ...(config.publish ? [PublishApiModule.forRoot(config.publish)] : []),
      ],
      controllers: [HealthController, MetricsController],
    };
  }
}
