import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../support/postgres.js';

/**
 * The npm package as users get it: `npm pack` (of the dist/ that `npm test` just built; no
 * prepack here, which would rebuild dist/ under the other tests' feet), installed globally into a
 * temporary prefix with --offline and an empty npm cache (so nothing else can be fetched), and
 * run from a folder outside the checkout.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

let work: string;
let tarball: string;
let packed: { size: number; unpackedSize: number; files: { path: string }[] };
/** Only node on PATH besides the system's: the checkout's node_modules/.bin is not there. */
const basePath = `${dirname(process.execPath)}:/usr/bin:/bin`;
const npmEnv = () => ({
  PATH: basePath,
  HOME: join(work, 'home'),
  npm_config_cache: join(work, 'npm-cache'),
  npm_config_update_notifier: 'false',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
});

function installed(args: string[], env: Record<string, string> = {}) {
  return spawnSync('xyn-migrate', args, {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: `${join(work, 'prefix', 'bin')}:${basePath}`, HOME: join(work, 'home'), ...env },
  });
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'xyn-package-'));
  mkdirSync(join(work, 'home'));
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  packed = (JSON.parse(out) as (typeof packed & { filename: string })[])[0]!;
  tarball = join(work, `${manifest.name}-${manifest.version}.tgz`);
  process.stderr.write(
    `npm pack: ${tarball} ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked\n`,
  );
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('the npm package', () => {
  it("holds only the program and its documentation: dist/cli.js, its code cache, dist/package.json, docs/ (and npm's README, package.json); no dependencies", () => {
    const docs = readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`);
    assert.ok(docs.includes('docs/writing-migrations.md'), 'the file format ships with the package');
    assert.deepEqual(
      packed.files.map((f) => f.path).sort(),
      ['README.md', 'dist/cli.js', 'dist/cli.js.cache', 'dist/package.json', ...docs, 'package.json'].sort(),
    );
    const inside = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as Record<
      string,
      unknown
    >;
    assert.equal(inside['dependencies'], undefined, 'no runtime dependencies: the bundle is self-contained');
    assert.equal(inside['optionalDependencies'], undefined);
    assert.deepEqual(inside['bin'], { 'xyn-migrate': 'dist/cli.js' });
    assert.ok(packed.size < 400 * 1024, `packed size ${packed.size} bytes`);
  });

  it('installs globally offline with an empty npm cache, and xyn-migrate runs outside the checkout', () => {
    const install = spawnSync('npm', ['install', '--global', '--prefix', join(work, 'prefix'), '--offline', tarball], {
      cwd: work,
      encoding: 'utf8',
      env: npmEnv(),
    });
    assert.equal(install.status, 0, install.stderr);
    const version = installed(['--version']);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), manifest.version);
  });

  it('the installed command migrates and reports status against PostgreSQL', async () => {
    const db = await freshDatabase();
    try {
      const env = { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: join(ROOT, 'migrations') };
      const pending = installed(['status'], env);
      assert.equal(pending.status, 5, `status before migrate: ${pending.stderr}`);
      const migrate = installed(['migrate'], env);
      assert.equal(migrate.status, 0, migrate.stderr);
      const status = installed(['status', '--json'], env);
      assert.equal(status.status, 0, status.stderr);
      assert.ok(JSON.parse(status.stdout));
    } finally {
      await db.drop();
    }
  });

  it('lint without the optional libpg-query beside it: exit 2, saying what to install', () => {
    const lint = installed(['lint'], { XYN_MIGRATIONS_DIR: join(ROOT, 'migrations') });
    assert.equal(lint.status, 2, lint.stderr);
    assert.match(lint.stderr, /libpg-query/);
  });

  it('npx runs the tarball (`npx ./xyn-migrate-<version>.tgz`)', () => {
    const npx = spawnSync('npx', ['--yes', '--offline', `./${basename(tarball)}`, '--version'], {
      cwd: work,
      encoding: 'utf8',
      env: npmEnv(),
    });
    assert.equal(npx.status, 0, npx.stderr);
    assert.equal(npx.stdout.trim(), manifest.version);
  });
});
