/**
 * The starter of dist/cli.js and the code cache that `npm run build` makes beside it
 * (dist/cli.js.cache): this node accepts the cache, and a foreign, forged or broken cache never
 * changes what runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import vm from 'node:vm';

const DIST = resolve('dist');
const CLI = join(DIST, 'cli.js');
const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;

/** A copy of dist/ to tamper with; removed after `body`. */
function withDistCopy(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'xyn-start-'));
  try {
    cpSync(DIST, dir, { recursive: true });
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function versionOf(dir: string): string {
  const run = spawnSync(process.execPath, [join(dir, 'cli.js'), '--version'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

describe('the code cache', () => {
  it('is made by the build, handed to V8 by the starter, and accepted by this node', () => {
    // Run the real starter with a vm whose Script notes what it was given and runs nothing.
    let seen: { hadCache: boolean; rejected: boolean | undefined } | undefined;
    class NotingScript extends vm.Script {
      constructor(code: string, options: vm.ScriptOptions) {
        super(code, options);
        seen = { hadCache: options.cachedData !== undefined, rejected: this.cachedDataRejected };
      }
      override runInThisContext(): unknown {
        return () => undefined;
      }
    }
    const realRequire = createRequire(CLI);
    const fakeRequire = (id: string): unknown => (id === 'node:vm' ? { ...vm, Script: NotingScript } : realRequire(id));
    const starter = readFileSync(CLI, 'utf8').replace(/^#!.*\n/, '');
    const run = vm.runInThisContext(Module.wrap(starter), { filename: CLI }) as (...args: unknown[]) => void;
    run({}, fakeRequire, { exports: {} }, CLI, DIST);
    assert.deepEqual(seen, { hadCache: true, rejected: false });
  });

  it('made from another build of the same length is not used (V8 alone would run the old code)', () => {
    withDistCopy((dir) => {
      const cli = join(dir, 'cli.js');
      const text = readFileSync(cli, 'utf8');
      const other = '9'.repeat(version.length);
      assert.ok(text.includes(`version="${version}"`), 'the version is in the program');
      writeFileSync(cli, text.replace(`version="${version}"`, `version="${other}"`));
      assert.equal(readFileSync(cli).length, Buffer.byteLength(text), 'same length');
      assert.equal(versionOf(dir), other);
    });
  });

  it('a training run writes a cache and records its digest on line 2; one that cannot write it changes nothing else', () => {
    withDistCopy((dir) => {
      const cli = join(dir, 'cli.js');
      const out = join(dir, 'trained.cache');
      const env = { PATH: process.env.PATH, XYN_CODE_CACHE_OUT: out };
      const trained = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8', env });
      assert.equal(trained.status, 0, trained.stderr);
      const [, digestLine, ...rest] = readFileSync(cli, 'latin1').split('\n');
      const digest = createHash('sha256').update(rest.join('\n'), 'latin1').update(readFileSync(out)).digest('hex');
      assert.equal(digestLine, `// code cache sha256:${digest}`, 'the digest of the rest of cli.js and the trained cache');
      // the cache recorded is the one used, and this node accepts it
      cpSync(out, join(dir, 'cli.js.cache'));
      assert.equal(versionOf(dir), version);
      const unwritable = spawnSync(process.execPath, [cli, '--version'], {
        encoding: 'utf8',
        env: { ...env, XYN_CODE_CACHE_OUT: join(dir, 'no-such-folder', 'x.cache') },
      });
      assert.equal(unwritable.status, 0);
      assert.equal(unwritable.stdout.trim(), version);
      assert.match(unwritable.stderr, /the code cache was not written/);
      assert.equal(readFileSync(cli, 'latin1').split('\n')[1], digestLine, 'nothing recorded for a cache not written');
    });
  });

  it("a forged cache (another program's code, with a header made for this file) is not used", () => {
    withDistCopy((victim) => {
      withDistCopy((forger) => {
        // The forger's program: the same length, another version; its cache is trained on it.
        const forgerCli = join(forger, 'cli.js');
        const other = '9'.repeat(version.length);
        writeFileSync(forgerCli, readFileSync(forgerCli, 'latin1').replace(`version="${version}"`, `version="${other}"`), 'latin1');
        const out = join(forger, 'forged.cache');
        const trained = spawnSync(process.execPath, [forgerCli, '--version'], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, XYN_CODE_CACHE_OUT: out },
        });
        assert.equal(trained.stdout.trim(), other, trained.stderr);
        const victimCli = readFileSync(join(victim, 'cli.js'));
        const forgedData = readFileSync(out);
        // What V8 holds of it (an older cache format began with the SHA-256 of the file it was made for).
        const v8Data = forgedData.subarray(0, 32).equals(createHash('sha256').update(readFileSync(forgerCli)).digest())
          ? forgedData.subarray(32)
          : forgedData;
        for (const forged of [v8Data, Buffer.concat([createHash('sha256').update(victimCli).digest(), v8Data])]) {
          writeFileSync(join(victim, 'cli.js.cache'), forged);
          assert.equal(versionOf(victim), version, 'the victim runs its own code');
        }
      });
    });
  });

  it('broken, empty or missing: the program compiles and runs as usual', () => {
    withDistCopy((dir) => {
      const cacheFile = join(dir, 'cli.js.cache');
      const cache = readFileSync(cacheFile);
      // the right digest, damaged V8 data
      writeFileSync(cacheFile, Buffer.concat([cache.subarray(0, 32), Buffer.alloc(cache.length - 32, 7)]));
      assert.equal(versionOf(dir), version);
      writeFileSync(cacheFile, '');
      assert.equal(versionOf(dir), version);
      rmSync(cacheFile);
      assert.equal(versionOf(dir), version);
    });
  });
});
