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
  legalComments: 'none',
  // pg and pino are CommonJS and require() Node's built-ins: give the ES module a require.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __xynCreateRequire } from 'node:module';\nconst require = __xynCreateRequire(import.meta.url);" },
  define: { XYN_VERSION: JSON.stringify(version) },
  // pg loads pg-native only when asked for it; we never ask.
  external: ['pg-native'],
  logLevel: 'warning',
});
