import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface ExitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Waits for a child to exit and returns what it printed. */
export function runUntilExit(child: ChildProcess, timeoutMs = 20_000): Promise<ExitResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A TCP port free on the loopback address right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code, or the signal that ended the process. */
  stop(): Promise<number | NodeJS.Signals | null>;
  /**
   * Sends SIGKILL and resolves once the process is gone, so a file's teardown leaves no
   * process (and its pipes) behind for the next file in the same Jest worker.
   */
  kill(): Promise<void>;
}

/** Signals a child and resolves once it is gone, with its exit code or the signal that ended it. */
function signalAndWait(
  child: ChildProcess,
  signal: NodeJS.Signals,
): Promise<number | NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return resolve(child.exitCode ?? child.signalCode);
    child.once('exit', (code, signalCode) => resolve(code ?? signalCode));
    child.kill(signal);
  });
}

/** Starts `node script` and resolves once its output matches `ready`. */
export function startProcess(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env } });
  let output = '';
  const running: RunningProcess = {
    child,
    output: () => output,
    stop: () => signalAndWait(child, 'SIGTERM'),
    kill: () => signalAndWait(child, 'SIGKILL').then(() => undefined),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(running);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready; output:\n${output}`));
    });
  });
}
