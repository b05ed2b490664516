import { Module, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { RealtimeModule } from '#realtime';
import type { GatewayConfig } from './config/gateway-config.js';
import { HealthController } from './health/health.controller.js';

@Module({})
export class GatewayAppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayAppModule,
      imports: [EventEmitterModule.forRoot(), RealtimeModule.forRoot(config.realtime)],
      controllers: [HealthController],
    };
  }
}
