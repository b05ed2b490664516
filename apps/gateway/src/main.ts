import { ConfigError, loadGatewayConfig, type GatewayConfig } from './config/gateway-config.js';
import { createGatewayApp } from './gateway-app.js';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`realtime-gateway: invalid configuration: ${error.message}`);
    process.exit(1);
  }
  const app = await createGatewayApp(config);
  await app.listen(config.port, config.host ?? '::');
  console.log(`realtime-gateway: listening on ${await app.getUrl()}`);
}

main().catch((error: unknown) => {
  console.error(
    `realtime-gateway: failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
