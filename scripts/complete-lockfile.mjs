#!/usr/bin/env node
// Records, in package-lock.json, the native optional packages of other platforms that the
// npm registry reachable here does not serve (e.g. @swc/core-darwin-arm64). Without their
// entries `npm ci` calls the lock out of sync; with them it skips them as foreign platforms,
// exactly as it would with entries from the public registry. Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const PLATFORM =
  /-(darwin|win32|linux|android|freebsd|openharmony)-(arm64|x64|ia32|arm|ppc64|s390x|riscv64|loong64)(?:-(gnu|musl|gnueabihf|musleabihf|msvc|eabi))?$/;

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path ? path + '/' : ''}node_modules/${name}`;
    if (packages[`node_modules/${name}`] || packages[nested]) continue;
    const platform = PLATFORM.exec(name);
    if (!platform)
      throw new Error(
        `${name} (optional dependency of ${path}) is missing and is not a platform package`,
      );
    const [, os, cpu, abi] = platform;
    if (os === process.platform && cpu === process.arch && (!abi || abi.startsWith('gnu'))) {
      throw new Error(`${name} is this machine's own platform package and is missing: reinstall`);
    }
    packages[`node_modules/${name}`] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(abi === 'gnu' || abi === 'gnueabihf' ? { libc: ['glibc'] } : {}),
      ...(abi === 'musl' || abi === 'musleabihf' ? { libc: ['musl'] } : {}),
    };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(LOCK, JSON.stringify({ ...lock, packages: sorted }, null, 2) + '\n');
console.log(`complete-lockfile: recorded ${added} foreign-platform optional package(s)`);
