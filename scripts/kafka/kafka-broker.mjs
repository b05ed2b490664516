#!/usr/bin/env node
// Start/stop a real single-node Apache Kafka broker (KRaft, combined broker+controller)
// on 127.0.0.1 without Docker. Dependency-free: Node 20 built-ins only.
// Kafka jars come from Maven Central via `mvn dependency:copy-dependencies` and are
// cached under <repo>/.cache/kafka/<version>/libs, so only the first run downloads.
//
// CLI:  node scripts/kafka/kafka-broker.mjs start|stop|status
// Env:  KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1000), KAFKA_VERSION (3.9.2),
//       KAFKA_CACHE_DIR (<repo>/.cache/kafka), KAFKA_HEAP_OPTS (-Xmx512m -Xms256m),
//       KAFKA_START_TIMEOUT_MS (90000)

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';
const DEFAULT_PORT = 9092;
// Newest 3.9.x on Maven Central. Kafka 4.x removed old protocol versions that kafkajs needs.
const DEFAULT_VERSION = '3.9.2';
const SCALA_VERSION = '2.13';
const DEFAULT_START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;
const INSTALL_HINT =
  'install with `apt-get install openjdk-17-jre-headless maven`, or run `docker compose up -d kafka redis` instead';

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(SCRIPT_DIR, '..', '..');
const DEFAULT_CACHE_DIR = path.join(REPO_ROOT, '.cache', 'kafka');

/** Repo-relative path for messages when inside the repo, absolute otherwise. */
const show = (p) => {
  const rel = path.relative(REPO_ROOT, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
};
const defaultLog = (msg) => console.log(`[kafka] ${msg}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Error whose message is meant to be printed as-is, on one line, by the CLI. */
export class KafkaBrokerError extends Error {}

// ---------------------------------------------------------------------------
// configuration helpers

function envPort(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new KafkaBrokerError(`${name}=${raw} is not a valid TCP port`);
  }
  return n;
}

function resolveOptions(opts = {}) {
  const port = Number(opts.port ?? envPort('KAFKA_PORT', DEFAULT_PORT));
  const controllerPort = Number(
    opts.controllerPort ?? envPort('KAFKA_CONTROLLER_PORT', port + 1000),
  );
  if (controllerPort > 65535) {
    throw new KafkaBrokerError(
      `controller port ${controllerPort} is out of range; set KAFKA_CONTROLLER_PORT`,
    );
  }
  const version = String(opts.version ?? (process.env.KAFKA_VERSION || DEFAULT_VERSION));
  if (!/^\d+\.\d+\.\d+([.-][\w.-]+)?$/.test(version)) {
    throw new KafkaBrokerError(`KAFKA_VERSION=${version} does not look like a Kafka version`);
  }
  const cacheDir = path.resolve(
    opts.cacheDir ?? (process.env.KAFKA_CACHE_DIR || DEFAULT_CACHE_DIR),
  );
  const versionDir = path.join(cacheDir, version);
  const dataDir = path.join(versionDir, 'data', String(port));
  const timeoutMs = Number(
    opts.timeoutMs ?? (process.env.KAFKA_START_TIMEOUT_MS || DEFAULT_START_TIMEOUT_MS),
  );
  return {
    port,
    controllerPort,
    version,
    cacheDir,
    versionDir,
    libsDir: path.join(versionDir, 'libs'),
    dataDir,
    logDirs: path.join(dataDir, 'kraft-logs'),
    propsFile: path.join(dataDir, 'server.properties'),
    logConfigFile: path.join(
      dataDir,
      majorOf(version) >= 4 ? 'log4j2.properties' : 'log4j.properties',
    ),
    brokerLog: path.join(dataDir, 'broker.log'),
    pidFile: path.join(cacheDir, 'run', `broker-${port}.pid`),
    timeoutMs,
    log: opts.log ?? defaultLog,
  };
}

function majorOf(version) {
  return Number(version.split('.')[0]);
}

function findOnPath(cmd) {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, cmd);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function requireTools(tools) {
  const missing = tools.filter((t) => !findOnPath(t));
  if (missing.length > 0) {
    const what = missing.join(' and ');
    throw new KafkaBrokerError(
      `${what} not found on PATH (needed to run Kafka without Docker): ${INSTALL_HINT}`,
    );
  }
}

// ---------------------------------------------------------------------------
// network probes

/** Resolves true if something accepts a TCP connection on host:port. */
export function isPortOpen(port, host = HOST, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves true if host:port is free to bind (checked by listening on it briefly). */
function isPortFree(port, host = HOST) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Sends one Kafka request (non-flexible header v1) over raw TCP and resolves the
 * response body (the bytes after the correlation id), or null on any failure.
 */
function kafkaRequest(port, host, apiKey, apiVersion, body, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const correlationId = 0x4b414641 + apiKey; // arbitrary
    const clientId = Buffer.from('kafka-broker.mjs');
    // request header v1: api_key int16, api_version int16, correlation_id int32, client_id string
    const header = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(apiVersion, 2);
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(clientId.length, 8);
    clientId.copy(header, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length, 0);
    const frame = Buffer.concat([size, header, body]);

    let received = Buffer.alloc(0);
    const socket = net.connect({ port, host });
    const done = (result) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.once('error', () => done(null));
    socket.once('close', () => done(null));
    socket.once('connect', () => socket.write(frame));
    socket.on('data', (data) => {
      received = Buffer.concat([received, data]);
      if (received.length < 4) return;
      const len = received.readInt32BE(0);
      if (len < 4 || len > 1 << 20) return done(null);
      if (received.length < 4 + len) return;
      if (received.readInt32BE(4) !== correlationId) return done(null);
      done(received.subarray(8, 4 + len));
    });
  });
}

/** Resolves true when a Kafka ApiVersions (v0) request gets a well-formed, error-free answer. */
export async function kafkaApiVersions(port, host = HOST, timeoutMs = 2000) {
  const res = await kafkaRequest(port, host, 18, 0, Buffer.alloc(0), timeoutMs);
  // v0 response: error_code int16, api_versions [api_key int16, min int16, max int16]
  return res !== null && res.length >= 6 && res.readInt16BE(0) === 0 && res.readInt32BE(2) > 0;
}

/**
 * Asks for the group coordinator (FindCoordinator v1) until the broker has one. On a fresh
 * data folder this creates __consumer_offsets, so consumer groups work right after start.
 */
async function waitForGroupCoordinator(port, deadline) {
  const key = Buffer.from('kafka-broker.mjs-warmup');
  const body = Buffer.alloc(2 + key.length + 1);
  body.writeInt16BE(key.length, 0);
  key.copy(body, 2);
  body.writeInt8(0, 2 + key.length); // key_type 0 = consumer group
  while (Date.now() < deadline) {
    const res = await kafkaRequest(port, HOST, 10, 1, body);
    // v1 response: throttle_time_ms int32, error_code int16, ...
    if (res !== null && res.length >= 6 && res.readInt16BE(4) === 0) return true;
    await sleep(250);
  }
  return false;
}

/** True when a Kafka broker answers an ApiVersions request on 127.0.0.1:port. */
export async function isBrokerUp(port = envPort('KAFKA_PORT', DEFAULT_PORT), host = HOST) {
  return kafkaApiVersions(Number(port), host);
}

// ---------------------------------------------------------------------------
// pid file handling

function readPid(pidFile) {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  // A zombie (exited but not yet reaped) still answers kill(0); treat it as dead.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc: trust kill(0)
  }
  return true;
}

/** Guards against pid reuse: on Linux check that the pid really is our Kafka java process. */
function isOurBroker(pid, propsFile) {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(propsFile);
  } catch {
    return true; // no /proc on this OS: trust the pid file
  }
}

function removeFile(file) {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

/** Returns { pid, propsFile } of the broker recorded for this port, or null. */
function recordedBroker(pidFile) {
  const pid = readPid(pidFile);
  if (!pid) return null;
  let propsFile = '';
  try {
    propsFile = fs.readFileSync(`${pidFile}.props`, 'utf8').trim();
  } catch {
    // older/partial pid file
  }
  return { pid, propsFile };
}

// ---------------------------------------------------------------------------
// jars from Maven Central

function pomXml(version) {
  const kafkaDeps = [
    `kafka_${SCALA_VERSION}`,
    'kafka-server',
    'kafka-server-common',
    'kafka-metadata',
    'kafka-raft',
    'kafka-storage',
    'kafka-group-coordinator',
    'kafka-transaction-coordinator',
    'kafka-clients',
  ];
  const logging =
    majorOf(version) >= 4
      ? [
          ['org.apache.logging.log4j', 'log4j-slf4j-impl', '2.24.3'],
          ['org.apache.logging.log4j', 'log4j-core', '2.24.3'],
          ['org.apache.logging.log4j', 'log4j-1.2-api', '2.24.3'],
        ]
      : [
          ['org.slf4j', 'slf4j-reload4j', '1.7.36'],
          ['ch.qos.reload4j', 'reload4j', '1.2.25'],
        ];
  const dep = (g, a, v) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka/kafka-broker.mjs: resolves the jars of a Kafka ${version} KRaft broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-broker</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${[...kafkaDeps.map((a) => dep('org.apache.kafka', a, version)), ...logging.map((d) => dep(...d))].join('\n')}
  </dependencies>
</project>
`;
}

function jarsReady(libsDir) {
  return fs.existsSync(path.join(libsDir, '.complete'));
}

function run(cmd, args, { cwd, logFile }) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'w');
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', out, out] });
    child.once('error', (err) => {
      fs.closeSync(out);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      fs.closeSync(out);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return `(no ${file})`;
  }
}

async function ensureJars(o) {
  if (jarsReady(o.libsDir)) return;
  requireTools(['mvn']);
  fs.mkdirSync(o.versionDir, { recursive: true });
  // Resolve into private files and folder, then rename: concurrent starts never see half a libs/.
  const pomFile = path.join(o.versionDir, `pom.tmp-${process.pid}.xml`);
  fs.writeFileSync(pomFile, pomXml(o.version));
  const tmpLibs = path.join(o.versionDir, `libs.tmp-${process.pid}`);
  fs.rmSync(tmpLibs, { recursive: true, force: true });
  const mvnLog = path.join(o.versionDir, `mvn.tmp-${process.pid}.log`);
  o.log(`resolving Kafka ${o.version} jars from Maven Central with mvn (first run only)...`);
  const started = Date.now();
  const code = await run(
    'mvn',
    [
      '-B',
      '--no-transfer-progress',
      '-f',
      pomFile,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmpLibs}`,
    ],
    { cwd: o.versionDir, logFile: mvnLog },
  );
  fs.renameSync(pomFile, path.join(o.versionDir, 'pom.xml'));
  fs.renameSync(mvnLog, path.join(o.versionDir, 'mvn.log'));
  if (code !== 0) {
    fs.rmSync(tmpLibs, { recursive: true, force: true });
    const log = path.join(o.versionDir, 'mvn.log');
    console.error(tail(log, 30));
    throw new KafkaBrokerError(
      `mvn could not resolve org.apache.kafka:kafka_${SCALA_VERSION}:${o.version} (exit ${code}); see ${log}`,
    );
  }
  const jars = fs.readdirSync(tmpLibs).filter((f) => f.endsWith('.jar'));
  fs.writeFileSync(path.join(tmpLibs, '.complete'), `${jars.sort().join('\n')}\n`);
  try {
    fs.renameSync(tmpLibs, o.libsDir);
  } catch (err) {
    // Another start won the race (libs/ exists and is not empty): use theirs.
    fs.rmSync(tmpLibs, { recursive: true, force: true });
    if (!jarsReady(o.libsDir)) throw err;
  }
  o.log(
    `${jars.length} jars ready in ${show(o.libsDir)} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}

// ---------------------------------------------------------------------------
// broker configuration and storage

function serverProperties(o) {
  return `# Generated by scripts/kafka/kafka-broker.mjs (rewritten on every start).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${o.controllerPort}
listeners=PLAINTEXT://${HOST}:${o.port},CONTROLLER://${HOST}:${o.controllerPort}
advertised.listeners=PLAINTEXT://${HOST}:${o.port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${o.logDirs}
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=104857600
log.retention.check.interval.ms=300000
`;
}

function logConfig(o) {
  if (majorOf(o.version) >= 4) {
    return `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.statechange.name = state.change.logger
logger.statechange.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = warn
`;
  }
  return `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.zookeeper=WARN
`;
}

function javaArgs(o, mainClass, extra) {
  const heap = (process.env.KAFKA_HEAP_OPTS || '-Xmx512m -Xms256m').split(/\s+/).filter(Boolean);
  const logProp =
    majorOf(o.version) >= 4
      ? `-Dlog4j2.configurationFile=${o.logConfigFile}`
      : `-Dlog4j.configuration=file:${o.logConfigFile}`;
  return [
    ...heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExplicitGCInvokesConcurrent',
    // short-lived tools start faster with the C1 compiler only
    ...(mainClass === 'kafka.Kafka' ? [] : ['-XX:TieredStopAtLevel=1']),
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${o.dataDir}`,
    logProp,
    '-cp',
    `${o.libsDir}${path.sep}*`,
    mainClass,
    ...extra,
  ];
}

function newClusterId() {
  // Kafka cluster ids are base64url-encoded 16-byte UUIDs (22 chars); avoid a leading '-'.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function ensureFormatted(o) {
  if (fs.existsSync(path.join(o.logDirs, 'meta.properties'))) return;
  const clusterId = newClusterId();
  o.log(`formatting KRaft storage in ${show(o.logDirs)} (cluster id ${clusterId})`);
  const formatLog = path.join(o.dataDir, 'format.log');
  const code = await run(
    'java',
    javaArgs(o, 'kafka.tools.StorageTool', [
      'format',
      '-t',
      clusterId,
      '-c',
      o.propsFile,
      '--ignore-formatted',
    ]),
    { cwd: o.dataDir, logFile: formatLog },
  );
  if (code !== 0) {
    console.error(tail(formatLog, 30));
    throw new KafkaBrokerError(`kafka storage format failed (exit ${code}); see ${formatLog}`);
  }
}

// ---------------------------------------------------------------------------
// readiness

async function waitUntilReady(o, child) {
  let exited = null;
  const onExit = (code, signal) => {
    exited = { code, signal };
  };
  child?.once('exit', onExit);
  const deadline = Date.now() + o.timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (exited)
        return {
          ok: false,
          reason: `broker process exited (${exited.signal ?? `code ${exited.code}`})`,
        };
      if (!child && o.pid && !isAlive(o.pid)) return { ok: false, reason: 'broker process exited' };
      if (await kafkaApiVersions(o.port)) return { ok: true };
      await sleep(250);
    }
    return {
      ok: false,
      reason: `broker did not answer on ${HOST}:${o.port} within ${o.timeoutMs / 1000} s`,
    };
  } finally {
    child?.off('exit', onExit);
  }
}

// ---------------------------------------------------------------------------
// public API

/**
 * Starts a single-node KRaft broker on 127.0.0.1:port unless something already
 * listens there. Resolves once the broker answers Kafka ApiVersions requests.
 * @returns {Promise<{ port: number, bootstrap: string, pid: number | null, alreadyRunning: boolean, version: string }>}
 */
export async function startBroker(opts = {}) {
  const o = resolveOptions(opts);
  const bootstrap = `${HOST}:${o.port}`;
  const t0 = Date.now();

  if (await isPortOpen(o.port)) {
    const kafka = await kafkaApiVersions(o.port);
    const rec = recordedBroker(o.pidFile);
    const pid = rec && isAlive(rec.pid) ? rec.pid : null;
    o.log(
      kafka
        ? `already running: a Kafka broker answers on ${bootstrap}${pid ? ` (pid ${pid})` : ''}; nothing to do`
        : `something (not answering as Kafka yet) already accepts connections on ${bootstrap}; nothing to do`,
    );
    return { port: o.port, bootstrap, pid, alreadyRunning: true, version: o.version };
  }

  // A broker we launched earlier may still be starting up: wait for it rather than start another.
  const rec = recordedBroker(o.pidFile);
  if (rec && isOurBroker(rec.pid, rec.propsFile || o.propsFile)) {
    o.log(`broker pid ${rec.pid} is still starting; waiting for ${bootstrap}...`);
    const r = await waitUntilReady({ ...o, pid: rec.pid }, null);
    if (!r.ok) {
      console.error(tail(o.brokerLog));
      throw new KafkaBrokerError(`${r.reason}; broker log: ${o.brokerLog}`);
    }
    await waitForGroupCoordinator(o.port, Date.now() + Math.min(o.timeoutMs, 30_000));
    o.log(`Kafka broker ready on ${bootstrap} (pid ${rec.pid})`);
    return { port: o.port, bootstrap, pid: rec.pid, alreadyRunning: true, version: o.version };
  }
  if (rec) {
    removeFile(o.pidFile);
    removeFile(`${o.pidFile}.props`);
  }

  requireTools(jarsReady(o.libsDir) ? ['java'] : ['java', 'mvn']);
  if (!(await isPortFree(o.controllerPort))) {
    throw new KafkaBrokerError(
      `controller port ${HOST}:${o.controllerPort} is already in use; set KAFKA_CONTROLLER_PORT to a free port`,
    );
  }

  await ensureJars(o);

  fs.mkdirSync(o.logDirs, { recursive: true });
  fs.mkdirSync(path.dirname(o.pidFile), { recursive: true });
  writeCacheGitignore(o.cacheDir);
  fs.writeFileSync(o.propsFile, serverProperties(o));
  fs.writeFileSync(o.logConfigFile, logConfig(o));
  await ensureFormatted(o);

  // Keep the previous log around for post-mortems, start the new one empty.
  if (fs.existsSync(o.brokerLog)) fs.renameSync(o.brokerLog, `${o.brokerLog}.1`);
  const out = fs.openSync(o.brokerLog, 'a');
  o.log(
    `starting Kafka ${o.version} on ${bootstrap} (controller ${HOST}:${o.controllerPort}), log: ${show(o.brokerLog)}`,
  );
  const child = spawn('java', javaArgs(o, 'kafka.Kafka', [o.propsFile]), {
    cwd: o.dataDir,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const spawnError = new Promise((resolve) => child.once('error', resolve));
  if (!child.pid) {
    const err = await spawnError;
    throw new KafkaBrokerError(`could not launch java: ${err?.message ?? 'unknown error'}`);
  }
  fs.writeFileSync(o.pidFile, `${child.pid}\n`);
  fs.writeFileSync(`${o.pidFile}.props`, `${o.propsFile}\n`);
  child.unref();

  const r = await waitUntilReady(o, child);
  if (!r.ok) {
    console.error(`[kafka] ---- last lines of ${o.brokerLog} ----\n${tail(o.brokerLog)}`);
    await killPid(child.pid, o.log, 5000);
    removeFile(o.pidFile);
    removeFile(`${o.pidFile}.props`);
    throw new KafkaBrokerError(`${r.reason}; broker log: ${o.brokerLog}`);
  }
  if (!(await waitForGroupCoordinator(o.port, Date.now() + Math.min(o.timeoutMs, 30_000)))) {
    o.log('warning: broker is up but its group coordinator is not available yet');
  }
  o.log(
    `Kafka broker ready on ${bootstrap} (pid ${child.pid}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return { port: o.port, bootstrap, pid: child.pid, alreadyRunning: false, version: o.version };
}

async function killPid(pid, log, timeoutMs = STOP_TIMEOUT_MS) {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(200);
  }
  log(`pid ${pid} still alive after ${timeoutMs / 1000} s; sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 25 && isAlive(pid); i += 1) await sleep(200);
}

/**
 * Stops the broker this script started on `port` (from its pid file). No error if none runs.
 * @returns {Promise<{ stopped: boolean }>}
 */
export async function stopBroker(opts = {}) {
  const o = resolveOptions(opts);
  const rec = recordedBroker(o.pidFile);
  if (!rec || !isOurBroker(rec.pid, rec.propsFile || o.propsFile)) {
    removeFile(o.pidFile);
    removeFile(`${o.pidFile}.props`);
    if (await isPortOpen(o.port)) {
      o.log(
        `no broker started by this script on ${HOST}:${o.port}, but something listens there; leaving it alone`,
      );
    } else {
      o.log(`not running on ${HOST}:${o.port}`);
    }
    return { stopped: false };
  }
  const t0 = Date.now();
  o.log(`stopping broker pid ${rec.pid} on ${HOST}:${o.port}...`);
  await killPid(rec.pid, o.log);
  removeFile(o.pidFile);
  removeFile(`${o.pidFile}.props`);
  o.log(`stopped (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return { stopped: true };
}

function writeCacheGitignore(cacheDir) {
  // The cache lives inside the repo; make sure git never picks it up.
  const file = path.join(cacheDir, '.gitignore');
  if (!fs.existsSync(file))
    fs.writeFileSync(file, '# Kafka jars and data (scripts/kafka/kafka-broker.mjs)\n*\n');
}

// ---------------------------------------------------------------------------
// CLI

async function main(argv) {
  const cmd = argv[0];
  switch (cmd) {
    case 'start':
      await startBroker();
      return 0;
    case 'stop':
      await stopBroker();
      return 0;
    case 'status': {
      const o = resolveOptions();
      const up = await isBrokerUp(o.port);
      const rec = recordedBroker(o.pidFile);
      const pid = rec && isAlive(rec.pid) ? ` (pid ${rec.pid})` : '';
      o.log(up ? `up on ${HOST}:${o.port}${pid}` : `down on ${HOST}:${o.port}`);
      return up ? 0 : 1;
    }
    default:
      console.error(
        'usage: node scripts/kafka/kafka-broker.mjs start|stop|status   (env: KAFKA_PORT, KAFKA_VERSION, KAFKA_CACHE_DIR)',
      );
      return 2;
  }
}

const invokedDirectly =
  process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      const msg = err instanceof KafkaBrokerError ? err.message : (err?.stack ?? String(err));
      console.error(`[kafka] ${msg}`);
      process.exitCode = 1;
    },
  );
}
