import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { RealtimeModule } from '#realtime';
import { HealthController } from '../../gateway/src/health/health.controller.js';
import { DemoTokenController } from './auth/demo-token.controller.js';
import { DEMO_JWT_SECRET } from './auth/demo-users.js';
import { DemoPageController } from './page/demo-page.controller.js';
import { DemoOrderDesk } from './requests/demo-order-desk.js';
import { DEMO_METHODS } from './requests/demo-requests.js';
import { MarketAssistant } from './requests/market-assistant.js';
import { MarketCandles } from './requests/market-candles.js';
import { ServerTime } from './requests/server-time.js';
import { AccountOnSubscribe } from './simulator/account-on-subscribe.service.js';
import { DEMO_EVENTS } from './simulator/demo-events.js';
import { DEMO_MARKETS } from './simulator/simulated-market.js';
import { MarketSimulator } from './simulator/market-simulator.service.js';
import { UserActivitySimulator } from './simulator/user-activity.simulator.js';

/**
 * The embedded default: the library in-process, fed by simulators of a market and of a
 * few users' trading, no external service. Its catalogue has two events of its own
 * (demo-events.ts), delivered like the built-in ones. A user who signs in gets their balance
 * and portfolio as soon as they subscribe (account-on-subscribe.service.ts). The page places and
 * cancels orders and asks a small market assistant over the live connection (`request`: the
 * methods of requests/demo-requests.ts, answered in process by DemoOrderDesk, MarketAssistant,
 * MarketCandles (the chart's history) and ServerTime).
 */
@Module({
  imports: [
    EventEmitterModule.forRoot(),
    RealtimeModule.forRoot({
      symbols: DEMO_MARKETS.map((market) => market.symbol),
      auth: { secret: DEMO_JWT_SECRET },
      events: DEMO_EVENTS,
      requests: { methods: DEMO_METHODS },
    }),
  ],
  controllers: [DemoPageController, DemoTokenController, HealthController],
  providers: [
    MarketSimulator,
    UserActivitySimulator,
    AccountOnSubscribe,
    DemoOrderDesk,
    MarketAssistant,
    MarketCandles,
    ServerTime,
  ],
})
export class DemoAppModule {}
