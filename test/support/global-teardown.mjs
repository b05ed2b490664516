// Stops the shared Kafka test broker once every test file is done, if this run started it.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stopBroker } from '../../scripts/kafka/kafka-broker.mjs';

const mark = path.join('.cache', 'kafka', 'run', 'started-by-tests');

export default async function globalTeardown() {
  let port;
  try {
    port = Number(readFileSync(mark, 'utf8').trim());
  } catch {
    return;
  }
  rmSync(mark, { force: true });
  if (Number.isInteger(port) && port > 0) await stopBroker({ port, log: () => undefined });
}
