import { Module, type DynamicModule } from '@nestjs/common';
import { MetricsOptions } from './metrics-options.js';
import { MetricsTokenGuard } from './metrics-token.guard.js';
import { MetricsController } from './metrics.controller.js';

/** `GET /metrics`, open, or behind a bearer token when `METRICS_TOKEN` is set. */
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsOptions): DynamicModule {
    return {
      module: MetricsModule,
      controllers: [MetricsController],
      providers: [{ provide: MetricsOptions, useValue: options }, MetricsTokenGuard],
    };
  }
}
