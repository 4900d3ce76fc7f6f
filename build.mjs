// Bundles the program into one file, dist/cli.js: a start loads one file, not a node_modules tree.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minifySyntax: true,
  minifyWhitespace: true, // less to parse at every start; identifiers are kept for readable stack traces
  legalComments: 'none',
  // pg and pino are CommonJS and require() Node's built-ins: give the ES module a require.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __xynCreateRequire } from 'node:module';\nconst require = __xynCreateRequire(import.meta.url);" },
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
  logLevel: 'warning',
});
