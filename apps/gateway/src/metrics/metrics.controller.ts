import { Controller, Get, Header, Inject, UseGuards } from '@nestjs/common';
import { RealtimeMetrics } from '#realtime';
import { MetricsTokenGuard } from './metrics-token.guard.js';

@Controller('metrics')
@UseGuards(MetricsTokenGuard)
export class MetricsController {
  constructor(@Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics) {}

  /** Prometheus text exposition of every `realtime_*` metric. */
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
