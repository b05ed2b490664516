export interface BrokerOptions {
  port?: number;
  controllerPort?: number;
  cacheDir?: string;
  version?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface StartedBroker {
  port: number;
  bootstrap: string;
  pid: number | null;
  alreadyRunning: boolean;
  version: string;
}

export class KafkaBrokerError extends Error {}
export function startBroker(options?: BrokerOptions): Promise<StartedBroker>;
export function stopBroker(
  options?: Pick<BrokerOptions, 'port' | 'cacheDir' | 'log' | 'version'>,
): Promise<void>;
export function isBrokerUp(port?: number, host?: string): Promise<boolean>;
