/**
 * The entry point of dist/cli.js. The rest of the program is bundled into the same file, in a
 * comment at its end (see build.mjs), and compiled here from V8's code cache when a valid one lies
 * beside the file (dist/cli.js.cache): a start then skips parsing and compiling the program.
 * Every pod start pays for start-up; this is the part of it that we can skip. Without a cache,
 * or with one that does not fit, the program is compiled as usual: time lost, nothing else.
 *
 * In a comment, not a string literal: Node parses this whole file before running it, and skipping
 * a comment is far cheaper than scanning and interning a 330 KB string.
 *
 * The cache is written by a training run with XYN_CODE_CACHE_OUT set: `npm run build` makes
 * one; the Dockerfile makes the image's own with the image's node. V8 rejects a cache from
 * another V8 or other flags; we reject one made for another file (V8 itself compares only the
 * source's length, and would run the old code).
 *
 * CommonJS on purpose: `new vm.Script` with cachedData is the code cache Node 20 offers
 * (module.enableCompileCache arrives in Node 22), and it takes a script, not an ES module.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { wrap } from 'node:module';
import { Script } from 'node:vm';

/** Where the program starts in this file; inside it, every `*` `/` is written `*`, NUL, `/`. */
const PROGRAM_MARK = '/*\0program\n';

const file = readFileSync(__filename);
const self = file.toString('latin1'); // the program is ASCII (build.mjs checks)
const program = self.slice(self.lastIndexOf(PROGRAM_MARK) + PROGRAM_MARK.length, self.lastIndexOf('*/')).replaceAll('*\0/', '*/');

const cacheOut = process.env.XYN_CODE_CACHE_OUT;
// The cache file: the SHA-256 of the dist/cli.js it was made for, then V8's data.
const digest = createHash('sha256').update(file).digest();

let cachedData: Buffer | undefined;
if (!cacheOut) {
  try {
    const cache = readFileSync(`${__filename}.cache`);
    if (cache.subarray(0, digest.length).equals(digest)) cachedData = cache.subarray(digest.length);
  } catch {
    // no cache: compile as usual
  }
}

// Named apart from this file in stack traces: their positions are in the program, not in this file.
const script = new Script(wrap(program), { filename: `${__filename} [program]`, cachedData });
// Written at exit: the cache then holds every function the run compiled, not only the top level.
// A cache that cannot be written changes nothing else (build.mjs checks that it was).
if (cacheOut) {
  process.once('exit', () => {
    try {
      writeFileSync(cacheOut, Buffer.concat([digest, script.createCachedData()]));
    } catch (error) {
      process.stderr.write(`xyn-migrate: the code cache was not written to ${cacheOut}: ${String(error)}\n`);
    }
  });
}

(script.runInThisContext() as (...args: unknown[]) => void)(exports, require, module, __filename, __dirname);
