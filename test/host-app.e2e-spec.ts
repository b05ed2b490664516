import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import {
  RealtimeEmitter,
  RealtimeEvent,
  RealtimeHealthIndicator,
  RealtimeIoAdapter,
  RealtimeMetrics,
  RealtimeModule,
  type ReadinessCheck,
  ReadinessRegistry,
} from '#realtime';
import { Recorder, command } from './support/gateway-harness.js';
import { HOST_EVENTS, type HostPayloads } from './support/host-events.js';

/** A host's own service: publishes through the module's typed emitter. */
@Injectable()
class Publisher {
  constructor(@Inject(RealtimeEmitter) readonly realtime: RealtimeEmitter<HostPayloads>) {}

  trade(tradeId: number): void {
    this.realtime.emit(RealtimeEvent.Trade, {
      symbol: 'HOSTUSDT',
      tradeId,
      price: '65000.5',
      quantity: '0.012',
      side: 'buy',
      timestamp: Date.now(),
    });
  }

  funding(): void {
    this.realtime.emit('funding.rate', { symbol: 'HOSTUSDT', rate: '0.0001' });
  }
}

/** What a host serves beside its own routes: the module's health and metrics. */
@Controller()
class OpsController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(RealtimeHealthIndicator) private readonly realtime: RealtimeHealthIndicator,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
  ) {}

  @Get('health/ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.realtime.isHealthy('realtime')]);
  }

  @Get('metrics')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@Module({
  imports: [
    EventEmitterModule.forRoot(),
    TerminusModule.forRoot({ logger: false }),
    RealtimeModule.forRoot({ events: HOST_EVENTS }),
  ],
  controllers: [OpsController],
  providers: [Publisher],
})
class HostAppModule {}

/** Compile-time checks: a wrong payload or an unknown event does not build. */
export function typedEmits(realtime: RealtimeEmitter<HostPayloads>): void {
  // @ts-expect-error price is a decimal string, never a number
  realtime.emit(RealtimeEvent.Trade, { symbol: 'BTCUSDT', price: 65000.5 });
  // @ts-expect-error a host event's required field
  realtime.emit('funding.rate', { symbol: 'BTCUSDT' });
  // @ts-expect-error no such event in the catalogue
  realtime.emit('funding.rates', { symbol: 'BTCUSDT', rate: '1' });
}

describe('a host Nest app with the module (typed publisher, health indicator, metrics)', () => {
  let app: INestApplication;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    app = await NestFactory.create(HostAppModule, { logger: ['error'] });
    app.useWebSocketAdapter(new RealtimeIoAdapter(app));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await app.close();
  });

  it("delivers what the host's service emits through the injected RealtimeEmitter", async () => {
    const socket = io(`${url}/ws`, { transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const recorder = new Recorder(socket);
    await recorder.waitFor('connected');
    await command(socket, 'subscribe', { channel: 'trades', symbol: 'HOSTUSDT' });
    await command(socket, 'subscribe', { channel: 'funding', symbol: 'HOSTUSDT' });
    const publisher = app.get(Publisher);
    publisher.trade(1);
    publisher.funding();
    const [trade] = await recorder.waitFor('trade');
    const [funding] = await recorder.waitFor('funding.rate');
    expect(trade).toMatchObject({ channel: 'trades', offset: 1, data: { tradeId: 1 } });
    expect(funding).toMatchObject({ channel: 'funding', data: { rate: '0.0001' } });
  });

  it("serves the module's readiness through Terminus: 200 up, 503 down with the failing check", async () => {
    const up = await fetch(`${url}/health/ready`);
    expect(up.status).toBe(200);
    const serving = { draining: { ready: true, state: 'serving' } };
    expect(await up.json()).toMatchObject({
      status: 'ok',
      details: { realtime: { status: 'up', checks: serving } },
    });
    const kafka: ReadinessCheck = {
      name: 'kafka',
      readiness: () => ({ ready: false, state: 'connecting', problem: 'ECONNREFUSED' }),
    };
    app.get(ReadinessRegistry).add(kafka);
    const down = await fetch(`${url}/health/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: 'error',
      error: {
        realtime: {
          status: 'down',
          checks: {
            ...serving,
            kafka: { ready: false, state: 'connecting', problem: 'ECONNREFUSED' },
          },
        },
      },
    });
    expect(app.get(RealtimeHealthIndicator).isHealthy('gateway').gateway.status).toBe('down');
  });

  it("serves the module's metrics from the host's own route", async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/realtime_events_in_total\{ingress="emitter",event="trade"\} 1/);
    expect(text).toMatch(/realtime_connections 1/);
  });
});
