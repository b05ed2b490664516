import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadGatewayConfig } from '../../gateway/src/config/gateway-config.js';
import { DemoAppModule } from './demo-app.module.js';

async function main(): Promise<void> {
  let port: number;
  let host: string | undefined;
  try {
    ({ port, host } = loadGatewayConfig());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`realtime-demo: invalid configuration: ${error.message}`);
    process.exit(1);
  }
  const app = await NestFactory.create(DemoAppModule, { logger: ['warn', 'error'] });
  app.enableShutdownHooks();
  await app.listen(port, host ?? '::');
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  console.log(`realtime-demo: live market on ${url}/ (Socket.IO namespace /ws)`);
}

main().catch((error: unknown) => {
  console.error(
    `realtime-demo: failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
