import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { RealtimeModule } from '#realtime';
import { HealthController } from '../../gateway/src/health/health.controller.js';
import { DemoPageController } from './page/demo-page.controller.js';
import { DEMO_MARKETS } from './simulator/simulated-market.js';
import { MarketSimulator } from './simulator/market-simulator.service.js';

/** The embedded default: the library in-process, fed by a simulator, no external service. */
@Module({
  imports: [
    EventEmitterModule.forRoot(),
    RealtimeModule.forRoot({ symbols: DEMO_MARKETS.map((market) => market.symbol) }),
  ],
  controllers: [DemoPageController, HealthController],
  providers: [MarketSimulator],
})
export class DemoAppModule {}
