import { ConnectionDrain } from '#realtime';
import { ConfigError, loadGatewayConfig, type GatewayConfig } from './config/gateway-config.js';
import { createGatewayApp } from './gateway-app.js';
import { JsonLogger } from './logging/json-logger.js';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`realtime-gateway: invalid configuration: ${error.message}`);
    process.exit(1);
  }
  const logger = new JsonLogger(config.logLevel);
  const app = await createGatewayApp(config, logger);
  await app.listen(config.port, config.host ?? '::');
  logger.log(`listening on ${await app.getUrl()}`, 'Gateway');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`, 'Gateway');
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal}: draining for up to ${config.drainTimeoutMs} ms`, 'Gateway');
    // If closing hangs past the drain time, leave anyway.
    setTimeout(() => process.exit(1), config.drainTimeoutMs + 10_000).unref();
    app
      .get(ConnectionDrain)
      .drain(config.drainTimeoutMs)
      .then(() => app.close())
      .then(
        () => {
          logger.log('stopped', 'Gateway');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error(
            `shutdown failed: ${error instanceof Error ? error.message : String(error)}`,
            'Gateway',
          );
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(
    `realtime-gateway: failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
