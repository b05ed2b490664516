// The built gateway app (dist/) as a child process, configured by a JSON GatewayConfig in
// GATEWAY_CONFIG instead of environment variables: for module options the environment
// cannot set (yet). Prints "listening on" once it serves; a test can SIGKILL it.
import { createGatewayApp } from '../../dist/apps/gateway/src/gateway-app.js';

const config = JSON.parse(process.env.GATEWAY_CONFIG ?? '{}');
const app = await createGatewayApp(config, ['log', 'warn', 'error']);
await app.listen(config.port ?? 0, '127.0.0.1');
console.log(`listening on ${await app.getUrl()}`);
