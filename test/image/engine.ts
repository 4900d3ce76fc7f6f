/**
 * A Docker engine of the test's own: Debian's docker.io (dockerd 20.10 with its built-in
 * BuildKit), installed where missing, started with a daemon config that makes no bridge and
 * touches no firewall, on a socket of its own. Every container and every build uses the host's
 * network (all traffic is loopback). stop() ends exactly the daemon started here, by its pid.
 *
 * The data root is kept between runs (CACHE/docker): the stand-in base images and BuildKit's
 * cache stay there, so a warm run builds nothing it built before.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's client: docker 20.10, whose `docker build` is BuildKit with DOCKER_BUILDKIT=1. */
export const DOCKER = '/usr/bin/docker';
const DOCKERD = '/usr/sbin/dockerd';

/** No bridge, no iptables/ip6tables rules, no forwarding, no masquerading. */
export const DAEMON_CONFIG = { bridge: 'none', iptables: false, ip6tables: false, 'ip-forward': false, 'ip-masq': false };

/** The Debian packages the test needs, by the file each one provides. */
const PACKAGES: Record<string, string> = {
  [DOCKERD]: 'docker.io',
  [DOCKER]: 'docker.io',
  '/usr/sbin/debootstrap': 'debootstrap',
  '/usr/bin/docker-compose': 'docker-compose',
};

/** Installs with apt-get what is missing; throws saying why when that cannot be done. */
export function ensurePackages(log: (line: string) => void): void {
  const missing = [
    ...new Set(
      Object.entries(PACKAGES)
        .filter(([file]) => !existsSync(file))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`the image test needs ${missing.join(', ')} (Debian packages) and root to install them`);
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) => {
    const result = spawnSync('apt-get', args, { env, encoding: 'utf8' });
    if (result.status !== 0)
      throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status}): ${(result.stderr || result.stdout).slice(-2000)}`);
  };
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  for (const [file, pkg] of Object.entries(PACKAGES)) if (!existsSync(file)) throw new Error(`${pkg} was installed but ${file} is missing`);
}

export interface Engine {
  /** the environment for docker and docker-compose: DOCKER_HOST is this daemon's socket */
  readonly env: NodeJS.ProcessEnv;
  readonly pid: number;
  /** docker with these arguments; throws with its stderr on a non-zero exit */
  docker(args: readonly string[], options?: { input?: string }): string;
  stop(): Promise<void>;
}

export async function startEngine(dataRoot: string, log: (line: string) => void): Promise<Engine> {
  removeStaleRunDirs();
  const run = mkdtempSync(join(tmpdir(), 'xyn-dockerd-'));
  const configFile = join(run, 'daemon.json');
  writeFileSync(configFile, JSON.stringify(DAEMON_CONFIG));
  mkdirSync(dataRoot, { recursive: true });
  const socket = join(run, 'docker.sock');
  const logFile = join(run, 'dockerd.log');
  const daemon: ChildProcess = spawn(
    DOCKERD,
    [
      '--config-file',
      configFile,
      '--data-root',
      dataRoot,
      '--exec-root',
      join(run, 'exec'),
      '--pidfile',
      join(run, 'dockerd.pid'),
      '--host',
      `unix://${socket}`,
    ],
    // detached: a process group of its own, so that nothing dockerd signals at shutdown reaches this test
    { stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')], detached: true },
  );
  const pid = daemon.pid;
  if (pid === undefined) throw new Error('dockerd did not start');
  let exited: number | null | undefined;
  daemon.on('exit', (code) => (exited = code));
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '1' };
  const docker = (args: readonly string[], options: { input?: string } = {}) => {
    const result = spawnSync(DOCKER, args, { env, encoding: 'utf8', input: options.input, maxBuffer: 64 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`docker ${args.slice(0, 2).join(' ')} exited ${result.status}: ${result.stderr.slice(-3000)}`);
    return result.stdout;
  };
  const engine: Engine = {
    env,
    pid,
    docker,
    stop: async () => {
      if (exited === undefined) {
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 30_000;
        while (exited === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        if (exited === undefined) {
          log(`dockerd (pid ${pid}) did not stop within 30 s: SIGKILL`);
          process.kill(pid, 'SIGKILL');
          while (exited === undefined) await new Promise((r) => setTimeout(r, 100));
        }
      }
      removeRunDir(run);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      removeRunDir(run);
      throw new Error(`dockerd exited (${exited}) while starting:\n${tail}`);
    }
    if (spawnSync(DOCKER, ['version'], { env, stdio: 'ignore' }).status === 0) break;
    if (Date.now() > deadline) {
      await engine.stop();
      throw new Error('dockerd did not answer within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`dockerd ${docker(['version', '--format', '{{.Server.Version}}']).trim()} started (pid ${pid}), data root ${dataRoot}`);
  return engine;
}

/** The daemon's run folder; the exec root can keep a network-namespace mount after it exits. */
function removeRunDir(run: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${run}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
  rmSync(run, { recursive: true, force: true });
}

/** Run folders of earlier runs that were killed (their dockerd is gone), with their mounts. */
function removeStaleRunDirs(): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith('xyn-dockerd-'))) {
    const run = join(tmpdir(), name);
    let alive = false;
    try {
      process.kill(Number(readFileSync(join(run, 'dockerd.pid'), 'utf8')), 0);
      alive = true;
    } catch (error) {
      // no such process; or no pid file yet, which a run that is starting right now may not have written
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && Date.now() - statSync(run).mtimeMs < 300_000) alive = true;
    }
    if (!alive) removeRunDir(run);
  }
}

/** The host's network interfaces that an engine with a bridge would have made. */
export function bridgeInterfaces(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '')
    .filter((name) => /^(docker\d|br-|veth)/.test(name));
}
