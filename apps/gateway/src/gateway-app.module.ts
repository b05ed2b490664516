import { Module, type DynamicModule } from '@nestjs/common';
import type { NestExpressBodyParserOptionsFor } from '@nestjs/platform-express';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { RealtimeModule } from '#realtime';
import { AdminModule } from './admin/admin.module.js';
import { AsyncApiController } from './asyncapi/asyncapi.controller.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { HealthController } from './health/health.controller.js';
import { KafkaIngressModule } from './kafka/kafka-ingress.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PublishApiModule } from './publish/publish-api.module.js';
import { isUtf8Json } from './publish/utf8-json-content-type.js';

@Module({})
export class GatewayAppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayAppModule,
      imports: [
        EventEmitterModule.forRoot(),
        RealtimeModule.forRoot({ ...config.realtime, isGlobal: true }),
        AdminModule.forRoot(config.admin),
        MetricsModule.forRoot(config.metrics),
        ...(config.kafka ? [KafkaIngressModule.forRoot(config.kafka)] : []),
        ...(config.publish ? [PublishApiModule.forRoot(config.publish)] : []),
      ],
      controllers: [HealthController, AsyncApiController],
    };
  }

  /**
   * How the app reads JSON bodies: up to the publish limit, and UTF-8 JSON only. Any other
   * body is left unread, and the publish API answers it 415 rather than have it decoded.
   */
  static jsonBodyParserOptions(config: GatewayConfig): NestExpressBodyParserOptionsFor<'json'> {
    return { limit: config.publish?.maxBodyBytes ?? 100 * 1024, type: isUtf8Json };
  }
}
