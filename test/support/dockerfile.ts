import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A Dockerfile read as the steps it performs, and a runner that performs them in a scratch
 * folder (no Docker engine runs the tests): each stage is a folder standing for its
 * filesystem, COPY copies what the build context lets through (.dockerignore), RUN runs
 * with the stage's working directory and ENV. Only the syntax this repository's Dockerfile
 * uses is understood; anything else throws, so a new construct is noticed, not skipped.
 */
export interface CopyStep {
  kind: 'COPY';
  from?: string;
  sources: string[];
  dest: string;
  line: number;
}
export interface RunStep {
  kind: 'RUN';
  command: string;
  line: number;
}
export interface WorkdirStep {
  kind: 'WORKDIR';
  path: string;
  line: number;
}
export interface EnvStep {
  kind: 'ENV';
  values: Record<string, string>;
  line: number;
}
export type Step = CopyStep | RunStep | WorkdirStep | EnvStep;

export interface Stage {
  index: number;
  image: string;
  name?: string;
  steps: Step[];
  user?: string;
  cmd?: string[];
  healthcheck?: { options: Record<string, string>; command: string };
  expose: string[];
}

/** Splits `text` into instructions: comments and blank lines dropped, continuations joined. */
function instructions(text: string): { keyword: string; args: string; line: number }[] {
  const out: { keyword: string; args: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let current = lines[i]!;
    if (/^\s*(#|$)/.test(current)) continue;
    while (/\\\s*$/.test(current) && i + 1 < lines.length) {
      current = current.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(current);
    if (!match) throw new Error(`Dockerfile line ${start + 1}: cannot read "${current}"`);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 });
  }
  return out;
}

function execForm(args: string, line: number): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`Dockerfile line ${line}: expected a JSON array of strings`);
  return parsed;
}

/** Leading `--name=value` flags of an instruction, and what follows them. */
function flags(args: string): { flags: Record<string, string>; rest: string } {
  const found: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const match = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!match) return { flags: found, rest };
    found[match[1]!] = match[2]!;
    rest = rest.slice(match[0].length);
  }
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const { keyword, args, line } of instructions(text)) {
    if (keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!match) throw new Error(`Dockerfile line ${line}: FROM ${args}`);
      stages.push({
        index: stages.length,
        image: match[1]!,
        name: match[2],
        steps: [],
        expose: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
    switch (keyword) {
      case 'WORKDIR':
        stage.steps.push({ kind: 'WORKDIR', path: args, line });
        break;
      case 'ENV': {
        const values: Record<string, string> = {};
        for (const pair of args.split(/\s+/)) {
          const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
          if (!match) throw new Error(`Dockerfile line ${line}: ENV wants NAME=value, got ${pair}`);
          values[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
        }
        stage.steps.push({ kind: 'ENV', values, line });
        break;
      }
      case 'COPY': {
        const { flags: copyFlags, rest } = flags(args);
        for (const flag of Object.keys(copyFlags)) {
          if (!['from', 'chown', 'chmod'].includes(flag))
            throw new Error(`Dockerfile line ${line}: COPY --${flag} is not understood here`);
        }
        const parts = rest.split(/\s+/);
        if (parts.length < 2 || parts.some((p) => /[*?[]/.test(p)))
          throw new Error(`Dockerfile line ${line}: COPY wants plain sources and a destination`);
        stage.steps.push({
          kind: 'COPY',
          from: copyFlags.from,
          sources: parts.slice(0, -1),
          dest: parts.at(-1)!,
          line,
        });
        break;
      }
      case 'RUN':
        if (args.startsWith('[')) throw new Error(`Dockerfile line ${line}: RUN in exec form`);
        stage.steps.push({ kind: 'RUN', command: args, line });
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'EXPOSE':
        stage.expose.push(...args.split(/\s+/));
        break;
      case 'CMD':
        stage.cmd = execForm(args, line);
        break;
      case 'HEALTHCHECK': {
        const { flags: options, rest } = flags(args);
        const match = /^CMD\s+(.*)$/.exec(rest);
        if (!match) throw new Error(`Dockerfile line ${line}: HEALTHCHECK without CMD`);
        const command = match[1]!.startsWith('[') ? execForm(match[1]!, line).join(' ') : match[1]!;
        stage.healthcheck = { options, command };
        break;
      }
      default:
        throw new Error(`Dockerfile line ${line}: ${keyword} is not understood here`);
    }
  }
  return stages;
}

/** The stage a `--from` names, by name or index; it must come before `index`. */
export function stageNamed(stages: Stage[], from: string, index: number): Stage {
  const stage = stages.find((s) => s.name === from) ?? stages[Number(from)];
  if (!stage || stage.index >= index) throw new Error(`COPY --from=${from}: no earlier stage`);
  return stage;
}

/** Docker's .dockerignore rules: the last pattern matching a path or one of its parents wins. */
export class DockerIgnore {
  private readonly patterns: { exclude: boolean; regex: RegExp }[];

  constructor(text: string) {
    this.patterns = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const exclude = !l.startsWith('!');
        const pattern = path.posix.normalize(l.replace(/^!/, '').trim()).replace(/^\/+|\/+$/g, '');
        return { exclude, regex: globRegex(pattern) };
      });
  }

  /** True when `file` (relative to the context, with /) stays out of the build context. */
  excludes(file: string): boolean {
    const parts = file.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const { exclude, regex } of this.patterns) {
      if (candidates.some((c) => regex.test(c))) excluded = exclude;
    }
    return excluded;
  }
}

function globRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        out += '(?:.*/)?';
      } else out += '.*';
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Every file under `dir` (a file itself when it is one), relative to `root`, with /. */
export function filesUnder(root: string, dir: string): string[] {
  const full = path.join(root, dir);
  if (!statSync(full).isDirectory()) return [dir];
  return readdirSync(full).flatMap((entry) => filesUnder(root, path.posix.join(dir, entry)));
}

export interface RunOutput {
  command: string;
  code: number | null;
  output: string;
}

/** Runs `command` with `sh -c` in `cwd`; resolves with its exit code and output. */
export function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<RunOutput> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd, env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ command, code, output }));
  });
}

/**
 * Performs the stages in `scratch`: `scratch/<stage index>` stands for each stage's root.
 * COPY from the context takes only what .dockerignore lets through and fails, as Docker does,
 * on a source that does not exist or that it leaves out. `env` is the RUN environment
 * beneath each stage's ENV (the base image's PATH and the like).
 */
export async function performStages(
  stages: Stage[],
  context: string,
  scratch: string,
  env: NodeJS.ProcessEnv,
): Promise<{ root: (stage: Stage) => string; workdir: (stage: Stage) => string }> {
  const ignore = new DockerIgnore(
    existsSync(path.join(context, '.dockerignore'))
      ? readFileSync(path.join(context, '.dockerignore'), 'utf8')
      : '',
  );
  const roots = new Map<Stage, string>();
  const workdirs = new Map<Stage, string>();
  for (const stage of stages) {
    const root = path.join(scratch, String(stage.index));
    mkdirSync(root, { recursive: true });
    roots.set(stage, root);
    let workdir = '/';
    let stageEnv: Record<string, string> = {};
    const inStage = (p: string) => path.join(root, path.posix.resolve(workdir, p));
    for (const step of stage.steps) {
      if (step.kind === 'WORKDIR') {
        workdir = path.posix.resolve(workdir, step.path);
        mkdirSync(inStage('.'), { recursive: true });
      } else if (step.kind === 'ENV') {
        stageEnv = { ...stageEnv, ...step.values };
      } else if (step.kind === 'COPY') {
        const intoDir = step.dest.endsWith('/') || step.sources.length > 1;
        for (const source of step.sources) {
          const where = `Dockerfile line ${step.line}: COPY ${source}`;
          let files: string[];
          let base: string;
          let sourcePath: string;
          if (step.from !== undefined) {
            base = roots.get(stageNamed(stages, step.from, stage.index))!;
            sourcePath = path.posix.resolve('/', source).slice(1);
            if (!existsSync(path.join(base, sourcePath)))
              throw new Error(`${where}: not in stage ${step.from}`);
            files = filesUnder(base, sourcePath);
          } else {
            base = context;
            sourcePath = path.posix.normalize(source).replace(/\/$/, '');
            if (!existsSync(path.join(base, sourcePath)))
              throw new Error(`${where}: not in the repository`);
            files = filesUnder(base, sourcePath).filter((f) => !ignore.excludes(f));
            if (files.length === 0) throw new Error(`${where}: left out by .dockerignore`);
          }
          const isDir = statSync(path.join(base, sourcePath)).isDirectory();
          for (const file of files) {
            const target = isDir
              ? path.join(inStage(step.dest), path.relative(sourcePath, file))
              : intoDir
                ? path.join(inStage(step.dest), path.basename(file))
                : inStage(step.dest);
            mkdirSync(path.dirname(target), { recursive: true });
            cpSync(path.join(base, file), target);
          }
        }
      } else {
        mkdirSync(inStage('.'), { recursive: true });
        const result = await sh(step.command, inStage('.'), { ...env, ...stageEnv });
        if (result.code !== 0)
          throw new Error(
            `Dockerfile line ${step.line}: RUN ${step.command} exited with ${result.code}:\n${result.output.slice(-4000)}`,
          );
      }
    }
    workdirs.set(stage, workdir);
  }
  return {
    root: (stage) => roots.get(stage)!,
    workdir: (stage) => path.join(roots.get(stage)!, workdirs.get(stage)!),
  };
}

/** The ENV a stage ends with. */
export function stageEnv(stage: Stage): Record<string, string> {
  return Object.assign(
    {},
    ...stage.steps.filter((s): s is EnvStep => s.kind === 'ENV').map((s) => s.values),
  );
}
