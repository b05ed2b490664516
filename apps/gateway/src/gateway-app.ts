import 'reflect-metadata';
import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RealtimeIoAdapter, RedisIoAdapter } from '#realtime';
import type { GatewayConfig } from './config/gateway-config.js';
import { GatewayAppModule } from './gateway-app.module.js';
import { KafkaIngressServer } from './kafka/kafka-ingress.server.js';

/** Builds the standalone gateway with its adapter and ingress connected, not yet listening. */
export async function createGatewayApp(
  config: GatewayConfig,
  logger: LoggerService | LogLevel[] | false = ['log', 'warn', 'error'],
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayAppModule.forRoot(config), {
    logger,
    bodyParser: false,
    // Not `forceCloseConnections`: it tracks every TCP connection, WebSockets too (a set entry
    // and a close listener each: 330 B of heap a connection, bench/heap-per-connection.mjs).
    // On shutdown the drain closes the WebSockets, and Node's server.close() closes idle
    // keep-alive connections; a request under way is answered first.
  });
  // Nothing tells a stranger what serves the gateway.
  app.disable('x-powered-by');
  app.useBodyParser('json', GatewayAppModule.jsonBodyParserOptions(config));
  if (config.redis) {
    const adapter = new RedisIoAdapter(app);
    await adapter.connect(config.redis);
    app.useWebSocketAdapter(adapter);
  } else {
    app.useWebSocketAdapter(new RealtimeIoAdapter(app));
  }
  if (config.kafka) {
    app.connectMicroservice({ strategy: app.get(KafkaIngressServer) }, { inheritAppConfig: true });
    // Returns at once: the transport keeps connecting in the background, see readiness.
    await app.startAllMicroservices();
  }
  return app;
}
