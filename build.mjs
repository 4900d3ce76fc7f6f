// Builds dist/cli.js, one file: a small starter (src/start.ts), then the program bundled (a start
// loads one file, not a node_modules tree) in a comment, which the starter compiles from V8's
// code cache; then one training run writes that cache, dist/cli.js.cache.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS, not ESM: no ES-module facade is built around each of Node's built-ins at start,
  // and a script (unlike a module) can be compiled from a code cache on Node 20.
  format: 'cjs',
  minifySyntax: true,
  minifyWhitespace: true, // less to parse at every start; identifiers are kept for readable stack traces
  legalComments: 'none',
  logLevel: 'warning',
};

rmSync('dist', { recursive: true, force: true });

const program = await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  write: false,
  define: {
    XYN_VERSION: JSON.stringify(version),
    // pg asks `typeof Response` to detect Cloudflare Workers; on Node 20 that first touch loads
    // Node's whole fetch implementation (undici), ~25 ms of every start. We never run there.
    Response: 'undefined',
  },
  // pg loads pg-native only when asked for it; we never ask. libpg-query (the SQL parser `lint`
  // imports on demand) reads its .wasm from beside its own script, so it is loaded from
  // node_modules at run time, never bundled: migrate's start-up does not pay for it.
  external: ['pg-native', 'libpg-query'],
  // ...through require(): an import() in a script compiled from a code cache finds no loader on
  // Node 20 ("A dynamic import callback was not specified").
  supported: { 'dynamic-import': false },
});

const text = program.outputFiles[0].text;
// esbuild escapes every non-ASCII character (charset: ascii), so the starter can read the file as
// Latin-1, and NUL is free to escape the comment's end (*/) inside the program.
if (/[^\x01-\x7f]/.test(text)) throw new Error('the bundled program is not plain ASCII without NUL: src/start.ts cannot carry it');
const starter = await build({ ...common, entryPoints: ['src/start.ts'], write: false });
mkdirSync('dist');
// Line 2: the digest of the code cache, recorded in place by the training run below (src/start.ts).
const digestLine = `// code cache sha256:${'0'.repeat(64)}`;
const cli = `#!/usr/bin/env node\n${digestLine}\n${starter.outputFiles[0].text}/*\0program\n${text.replaceAll('*/', '*\0/')}*/\n`;
writeFileSync('dist/cli.js', cli);

// The package is "type": "module"; dist/cli.js is CommonJS (anywhere without a package.json, too).
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');

// The training run: the cache then holds the functions a start compiles, not only the top level;
// it records the cache's digest on line 2 of dist/cli.js, without which the cache is not used.
const training = spawnSync(process.execPath, ['dist/cli.js', '--version'], {
  env: { ...process.env, XYN_CODE_CACHE_OUT: 'dist/cli.js.cache' },
  encoding: 'utf8',
});
const recorded = readFileSync('dist/cli.js', 'latin1').split('\n')[1];
if (training.status !== 0 || !existsSync('dist/cli.js.cache') || recorded.endsWith('0'.repeat(64))) {
  throw new Error(
    `the training run did not write the code cache or record its digest: node dist/cli.js --version exited ${training.status}\n${training.stderr}`,
  );
}
