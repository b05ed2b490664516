#!/usr/bin/env node
// Rewrites package.json in the current folder into the standalone gateway's manifest, for the
// Docker image's production install (`npm ci --omit=dev` right after it, same lockfile).
//
// The published library keeps Nest as peer dependencies and the drivers (Kafka, Redis,
// Express) as optional peers, all of them devDependencies of this repository, so a plain
// `npm ci --omit=dev` would leave the gateway without Nest. The gateway is the host here:
// it runs on every peer the library requires, on the drivers below, and on its own packages.
// Their versions are the ones this repository pins in devDependencies, hence in the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** What apps/gateway loads besides the library's required peers. */
export const GATEWAY_PACKAGES = [
  // Kafka ingress (KAFKA_BROKERS): Nest's Kafka transport, which loads kafkajs.
  '@nestjs/microservices',
  'kafkajs',
  // Many instances (REDIS_URL): the Redis adapter, which the library loads on demand.
  '@socket.io/redis-adapter',
  'redis',
  // The HTTP side: health, metrics, the publish and admin APIs.
  '@nestjs/platform-express',
  // CATALOGUE_FILE in YAML.
  'yaml',
];

/** The gateway's manifest from the repository's: production dependencies only, no peers. */
export function gatewayManifest(manifest) {
  const {
    dependencies = {},
    devDependencies = {},
    peerDependencies = {},
    peerDependenciesMeta = {},
  } = manifest;
  const required = Object.keys(peerDependencies).filter((n) => !peerDependenciesMeta[n]?.optional);
  const wanted = { ...dependencies };
  for (const name of [...required, ...GATEWAY_PACKAGES]) {
    const spec = devDependencies[name] ?? dependencies[name];
    if (!spec) throw new Error(`${name}: the gateway needs it, but package.json does not pin it`);
    wanted[name] = spec;
  }
  const gateway = { ...manifest };
  delete gateway.devDependencies;
  delete gateway.peerDependencies;
  delete gateway.peerDependenciesMeta;
  delete gateway.scripts;
  gateway.dependencies = Object.fromEntries(
    Object.entries(wanted).sort(([a], [b]) => a.localeCompare(b)),
  );
  return gateway;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = 'package.json';
  const gateway = gatewayManifest(JSON.parse(readFileSync(file, 'utf8')));
  writeFileSync(file, JSON.stringify(gateway, null, 2) + '\n');
  console.log(`gateway-dependencies: ${Object.keys(gateway.dependencies).length} dependencies`);
}
