/**
 * Timing and peak memory of whole processes.
 *
 * Wall time: from spawn() to the child's exit, measured here with a monotonic clock (the same
 * fork/exec overhead for every tool). Peak RSS: GNU time's `%M` (the child's ru_maxrss, read by
 * wait4) when /usr/bin/time is GNU time; otherwise VmHWM polled from /proc/<pid>/status every few
 * milliseconds (a fallback: it can miss a peak in the last few milliseconds and does not see
 * grandchildren).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface ProcessResult {
  readonly wallMs: number;
  /** peak resident set size in KiB; undefined when it could not be read */
  readonly maxRssKiB: number | undefined;
  /** user + system CPU time in ms (10 ms resolution); undefined without GNU time */
  readonly cpuMs: number | undefined;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** the last few KiB of stderr, for failure messages */
  readonly stderrTail: string;
}

export type RssMethod = 'gnu-time' | 'proc-poll';

const GNU_TIME = '/usr/bin/time';
const STDERR_TAIL = 16_384;

export function rssMethod(): RssMethod {
  if (!existsSync(GNU_TIME)) return 'proc-poll';
  const probe = spawnSync(GNU_TIME, ['-f', '%M', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? 'gnu-time' : 'proc-poll';
}

export function describeRssMethod(method: RssMethod): string {
  return method === 'gnu-time'
    ? 'peak RSS = ru_maxrss of the process, CPU = its user + system time (GNU /usr/bin/time -f "%M %U %S")'
    : 'peak RSS = VmHWM polled from /proc/<pid>/status (no GNU time here; approximate)';
}

export class Runner {
  private counter = 0;

  constructor(
    private readonly method: RssMethod,
    private readonly scratchDir: string,
  ) {
    rmSync(scratchDir, { recursive: true, force: true });
    mkdirSync(scratchDir, { recursive: true });
  }

  /** Runs one command to its end. */
  async run(command: Command): Promise<ProcessResult> {
    return this.method === 'gnu-time' ? this.runTimed(command) : this.runPolled(command);
  }

  /**
   * Starts `count` copies of `command` at once (spawned back to back, without awaiting anything in
   * between) and waits for all. Wall time runs from the first spawn to the last exit.
   */
  async runConcurrent(command: Command, count: number): Promise<{ wallMs: number; results: ProcessResult[] }> {
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: count }, () => this.run(command)));
    return { wallMs: performance.now() - started, results };
  }

  private runTimed(command: Command): Promise<ProcessResult> {
    const rssFile = join(this.scratchDir, `rss-${process.pid}-${this.counter++}.txt`);
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const child = spawn(GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, command.file, ...command.args], {
        cwd: command.cwd,
        env: command.env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL);
      });
      child.once('error', reject);
      child.once('close', (exitCode, signal) => {
        const wallMs = performance.now() - started;
        let maxRssKiB: number | undefined;
        let cpuMs: number | undefined;
        try {
          // On a non-zero exit GNU time writes "Command exited with non-zero status N" first.
          const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
          const [rss, user, system] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
          maxRssKiB = rss !== undefined && Number.isFinite(rss) && rss > 0 ? rss : undefined;
          cpuMs = user !== undefined && system !== undefined && Number.isFinite(user + system) ? (user + system) * 1000 : undefined;
          rmSync(rssFile, { force: true });
        } catch {
          maxRssKiB = undefined;
        }
        resolve({ wallMs, maxRssKiB, cpuMs, exitCode, signal, stderrTail: stderr });
      });
    });
  }

  private runPolled(command: Command): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const child = spawn(command.file, [...command.args], { cwd: command.cwd, env: command.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let peak: number | undefined;
      const poll = (): void => {
        if (child.pid === undefined) return;
        try {
          const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (match?.[1]) peak = Math.max(peak ?? 0, Number(match[1]));
        } catch {
          // gone already
        }
      };
      const timer = setInterval(poll, 2);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL);
      });
      child.once('error', (error) => {
        clearInterval(timer);
        reject(error);
      });
      child.once('exit', poll);
      child.once('close', (exitCode, signal) => {
        clearInterval(timer);
        resolve({ wallMs: performance.now() - started, maxRssKiB: peak, cpuMs: undefined, exitCode, signal, stderrTail: stderr });
      });
    });
  }
}

export interface Summary {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** the highest peak RSS of any process in any measured run, KiB */
  readonly peakRssKiB: number | undefined;
  /** median CPU time (user + system) of the runs where it could be read, ms; a concurrent run counts all its processes */
  readonly medianCpuMs: number | undefined;
  readonly runs: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function summarise(
  wallMs: readonly number[],
  rssKiB: readonly (number | undefined)[],
  cpuMs: readonly (number | undefined)[],
): Summary {
  const known = rssKiB.filter((v): v is number => v !== undefined);
  const cpu = cpuMs.filter((v): v is number => v !== undefined);
  return {
    medianMs: median(wallMs),
    minMs: Math.min(...wallMs),
    maxMs: Math.max(...wallMs),
    peakRssKiB: known.length > 0 ? Math.max(...known) : undefined,
    medianCpuMs: cpu.length > 0 ? median(cpu) : undefined,
    runs: wallMs.length,
  };
}

/**
 * A one-line reason for a failed process: the first line of stderr that looks like an error
 * (a stack dump ends with `}` and the Node version, which say nothing), else the last line.
 */
export function failureOf(result: ProcessResult): string | undefined {
  if (result.exitCode === 0) return undefined;
  const how = result.signal ? `killed by ${result.signal}` : `exit ${String(result.exitCode)}`;
  const lines = result.stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const telling = lines.find((l) => /error|fatal|refused|timeout|too many|terminat|denied|exception/i.test(l)) ?? lines[lines.length - 1];
  return telling ? `${how}: ${telling.slice(0, 300)}` : how;
}
