import 'reflect-metadata';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { GatewayConfig } from './config/gateway-config.js';
import { GatewayAppModule } from './gateway-app.module.js';
import { KafkaIngressServer } from './kafka/kafka-ingress.server.js';

/** Builds the standalone gateway with its ingress connected, not yet listening. */
export async function createGatewayApp(
  config: GatewayConfig,
  logger: LogLevel[] | false = ['log', 'warn', 'error'],
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayAppModule.forRoot(config), {
    logger,
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: config.publish?.maxBodyBytes ?? 100 * 1024 });
  app.enableShutdownHooks();
  if (config.kafka) {
    app.connectMicroservice({ strategy: app.get(KafkaIngressServer) }, { inheritAppConfig: true });
    // Returns at once: the transport keeps connecting in the background, see readiness.
    await app.startAllMicroservices();
  }
  return app;
}
