import 'reflect-metadata';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { GatewayConfig } from './config/gateway-config.js';
import { GatewayAppModule } from './gateway-app.module.js';

/** Builds the standalone gateway, not yet listening. */
export async function createGatewayApp(
  config: GatewayConfig,
  logger: LogLevel[] | false = ['log', 'warn', 'error'],
): Promise<INestApplication> {
  const app = await NestFactory.create(GatewayAppModule.forRoot(config), { logger });
  app.enableShutdownHooks();
  return app;
}
